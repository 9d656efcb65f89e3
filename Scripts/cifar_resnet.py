"""CIFAR-style ResNet (He et al. 2016, sec. 4.2) with torchvision-style module names.

depth in {20, 32, 44, 56, 110}: n = (depth - 2) / 6 BasicBlocks per stage,
stages of 16 / 32 / 64 channels, the first block of layer2 and layer3 has stride 2.
Shortcut on a shape change is `downsample` = Sequential(Conv2d 1x1 stride s, BN)
(torchvision option B), identity otherwise. No max pool after the stem.

State-dict keys look like torchvision's: conv1.weight, bn1.*, layer1.0.conv1.weight,
layer2.0.downsample.0.weight, layer2.0.downsample.1.running_mean, fc.weight, fc.bias.
"""
import torch
import torch.nn as nn

SUPPORTED_DEPTHS = (20, 32, 44, 56, 110)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class CifarResNet(nn.Module):
    def __init__(self, depth=20, in_channels=3, num_classes=10, widths=(16, 32, 64)):
        super().__init__()
        if depth < 8 or (depth - 2) % 6 != 0:
            raise ValueError(f"depth must be 6n+2, got {depth}")
        n = (depth - 2) // 6
        self.depth = depth
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(widths[0], n, stride=1)
        self.layer2 = self._make_layer(widths[1], n, stride=2)
        self.layer3 = self._make_layer(widths[2], n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[2], num_classes)
        # torchvision-style init
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(BasicBlock(planes, planes))
        return nn.Sequential(*layers)

    def features(self, x):
        """Pre-global-pool feature map, [N, 64, H/4, W/4]."""
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return x

    def head(self, f):
        return self.fc(torch.flatten(self.avgpool(f), 1))

    def forward(self, x):
        return self.head(self.features(x))


def cifar_resnet(depth, in_channels=3, num_classes=10):
    return CifarResNet(depth=depth, in_channels=in_channels, num_classes=num_classes)


def resnet20(**kw):
    return cifar_resnet(20, **kw)


def resnet32(**kw):
    return cifar_resnet(32, **kw)


def resnet44(**kw):
    return cifar_resnet(44, **kw)


def resnet56(**kw):
    return cifar_resnet(56, **kw)


def resnet110(**kw):
    return cifar_resnet(110, **kw)


def randomize_bn_(model, generator=None):
    """Randomise every BatchNorm's affine params and running stats so they matter:
    weight ~ U(0.5, 1.5), bias ~ U(-0.2, 0.2), running_mean ~ N(0,1)*0.1,
    running_var ~ U(0.5, 1.5). Uses the global torch RNG unless `generator` is given."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                if m.weight is not None:
                    m.weight.copy_(torch.rand(c, generator=generator) * 1.0 + 0.5)
                    m.bias.copy_(torch.rand(c, generator=generator) * 0.4 - 0.2)
                m.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=generator) * 1.0 + 0.5)
    return model
