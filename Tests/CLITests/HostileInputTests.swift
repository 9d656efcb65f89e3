import Foundation
import SafeFiles
import XCTest

/// Issue 13, one test per class of hostile or mistaken input: the tool exits non-zero with a
/// message naming the option or file, what it expects and what it got, and writes or damages
/// nothing.
final class HostileInputTests: CLITestCase {
    /// `weights` whose classifier weights are all 3e38: every weight is finite, but the logits
    /// overflow to infinity.
    func overflowingWeights() throws -> String {
        var file = try EditableSafeTensors(contentsOf: try weights())
        for i in 0..<(10 * 64) { file.setValue("fc.weight", at: i, 3e38) }
        let path = work + "/huge.safetensors"
        try file.write(to: path)
        return path
    }

    // MARK: Silent wrong results

    func testAModelWithNonFiniteLogitsHasNoAccuracyAndNothingRecordsOne() throws {
        let w = try overflowingWeights()
        try assertRefused(["eval", "--weights", w, "--data", "bundled", "--limit", "20", "--json", work + "/e.json"],
                          "huge.safetensors produced non-finite logits (NaN or infinity) for 20 of 20 images")
        try assertRefused(["compress", "--weights", w, "--data", "bundled", "--blocks", "layer1.1", "--finetune-iterations", "1",
                           "--num-samples", "10", "--out", work + "/o"],
                          "the teacher (on the tiny set) produced non-finite logits")
        try assertRefused(["analyze", "--weights", w, "--data", "bundled", "--num-samples", "10", "--analysis-iterations", "1", "--out", work + "/a"],
                          "the teacher (on the tiny set) produced non-finite logits")
    }

    /// Every option is checked before any work: out-of-range numbers, NaN, negative numbers
    /// written without `=`, options that exclude each other, empty lists, bad choices.
    func testEveryOptionIsValidatedBeforeAnyWork() throws {
        let w = try weights()
        let compress = ["compress", "--weights", w, "--data", "bundled", "--out", work + "/o"]
        let cases: [([String], String)] = [
            (compress + ["--drop", "1", "--lr", "-1"], "--lr must be a finite number > 0, got -1.0"),
            (compress + ["--drop", "1", "--lr", "0"], "--lr must be a finite number > 0, got 0.0"),
            (compress + ["--drop", "1", "--lr", "nan"], "--lr must be a finite number > 0, got nan"),
            (compress + ["--drop", "1", "--threads", "0"], "--threads must be in 1..."),
            (compress + ["--drop", "1", "--latency-budget", "0"], "--latency-budget must be between 0.1 and 3600 seconds, got 0.0"),
            (compress + ["--drop", "1", "--latency-budget", "nan"], "--latency-budget must be between 0.1 and 3600 seconds, got nan"),
            (compress + ["--drop", "1", "--threads", "-1"], "--threads must be in 1..."),
            (compress + ["--drop", "1", "--threads", "1000"], "--threads must be in 1..."),
            (compress + ["--drop", "1", "--per-class", "2", "--num-samples", "5"], "give only one of --num-samples, --per-class, --samples; got --num-samples and --per-class"),
            (compress + ["--blocks", ""], "--blocks must name one or more blocks"),
            (compress + ["--blocks", "layer1.1,,layer1.2"], "--blocks must name one or more blocks"),
            (compress + ["--blocks", "layer9.9"], "'layer9.9' is not a droppable block of resnet20"),
            (compress + ["--drop", "0"], "--drop must be at least 1, got 0"),
            (compress + ["--drop", "7"], "--drop 7 is more than the 6 droppable blocks of resnet20"),
            (compress + ["--target-latency-reduction", "0"], "--target-latency-reduction must be a fraction between 0 and 1"),
            (compress + ["--target-latency-reduction", "1.5"], "--target-latency-reduction must be a fraction between 0 and 1"),
            (compress + ["--target-latency-reduction", "nan"], "--target-latency-reduction must be a fraction between 0 and 1"),
            (compress + ["--drop", "1", "--method", "SGD"], "The value 'SGD' is invalid for '--method <method>'. Please provide one of 'MiR', 'BP', 'KD' or 'FSKD'"),
            (compress + ["--drop", "1", "--method", "fskd"], "--method FSKD needs --scheme channels"),
            (compress + ["--drop", "1", "--scheme", "filters"], "The value 'filters' is invalid for '--scheme <scheme>'. Please provide one of 'blocks' and 'channels'"),
            (compress + ["--drop", "1", "--mean", "nan", "--std", "1"], "--mean must be comma-separated finite numbers, got 'nan'"),
            (compress + ["--drop", "1", "--mean", "0.5", "--std", "1e-45"], "--std values must be at least 0.001, got 1e-45"),
            (compress + ["--drop", "1", "--mean", "0.5", "--std", "0"], "--std values must be at least 0.001, got 0.0"),
            (compress + ["--drop", "1", "--mean", "0.5"], "give both --mean and --std"),
            (compress + ["--drop", "1", "--num-classes", "-3"], "--num-classes must be in 1...100000, got -3"),
            (compress + ["--drop", "1", "--in-channels", "0"], "--in-channels must be in 1...1024, got 0"),
            (compress + ["--drop", "1", "--batch-size", "0"], "--batch-size must be in 1...4096, got 0"),
            (compress + ["--drop", "1", "--batch-size", "-8"], "--batch-size must be in 1...4096, got -8"),
            (compress + ["--drop", "1", "--latency-batch", "0"], "--latency-batch must be in 1...4096, got 0"),
            (compress + ["--drop", "1", "--analysis-iterations", "-1"], "--analysis-iterations must be in 0...10000000, got -1"),
            (["eval", "--weights", w, "--data", "bundled", "--limit", "-5"], "--limit must be at least 1, got -5"),
            (["eval", "--weights", w, "--data", "bundled", "--batch-size", "0"], "--batch-size must be in 1...4096, got 0"),
            (["eval", "--weights", w, "--data", "bundled", "--split", "val"], "The value 'val' is invalid for '--split <split>'"),
            (["latency", "--weights", w, "--batch", "0"], "--batch must be in 1...4096, got 0"),
            // Negative numbers reach validation (not the parser's "Missing value").
            (["latency-table", "--weights", w, "--budget", "-1", "--out", work + "/t.json"], "--budget must be between 0.1 and 3600 seconds, got -1.0"),
            (["latency-table", "--weights", w, "--latency-threads", "-1", "--out", work + "/t.json"], "--latency-threads must be in 1..."),
            (compress + ["--scheme", "channels", "--prune-ratio", "-0.1"], "--prune-ratio must be in [0, 1), got -0.1"),
            // Settings the run would ignore are refused, naming each and why.
            (compress + ["--scheme", "channels", "--prune-ratio", "0.3", "--analysis-iterations", "50"],
             "--analysis-iterations does nothing with --scheme channels: filter pruning runs no block analysis; leave it out"),
            (compress + ["--scheme", "channels", "--prune-ratio", "0.3", "--method", "FSKD", "--finetune-iterations", "5", "--lr", "0.1"],
             "--finetune-iterations and --lr do nothing with --method FSKD: it fits a 1×1 conv per block in closed form, with no gradient steps; leave them out"),
            (compress + ["--blocks", "layer1.1", "--analysis-iterations", "50", "--checkpoint-every", "5"],
             "--analysis-iterations and --checkpoint-every do nothing with --blocks: it skips the analysis; leave them out"),
            (["analyze", "--weights", w, "--data", "bundled", "--finetune-iterations", "5", "--out", work + "/a"],
             "--finetune-iterations does nothing with analyze: it trains only the adaptors; finetuning is compress's; leave it out"),
            (["synthesize", "--weights", w, "--num-samples", "-5", "--out", work + "/s"], "--num-samples must be in 1...100000, got -5"),
            (["synthesize", "--weights", w, "--image-size", "-3", "--out", work + "/s"], "--image-size must be in 8...1024, got -3"),
            (["synthesize", "--weights", w, "--image-size", "7", "--out", work + "/s"], "--image-size must be in 8...1024, got 7"),
            (["analyze", "--weights", w, "--data", "bundled", "--shard-index", "-1", "--shard-count", "2", "--out", work + "/a"], "--shard-index must be in 0...1 for --shard-count 2 (found -1)"),
            (["analyze", "--weights", w, "--data", "bundled", "--shard-index", "0", "--shard-count", "-1", "--out", work + "/a"], "--shard-count must be in 1...100000, got -1"),
            (["latency", "--weights", w, "--image-size", "0"], "--image-size must be in 8...1024, got 0"),
            (["latency", "--weights", w, "--image-size", "100000"], "--image-size must be in 8...1024, got 100000"),
            (["latency", "--weights", w, "--image-size", "1024", "--batch", "64"], "more than the 16777216 (64 images of 512×512)"),
            (["blocks", "--model", "resnet20", "--latency-batch", "0"], "--latency-batch must be in 1...4096, got 0"),
            (["train", "--model", "resnet20", "--data", "bundled", "--weight-decay", "-1", "--out", work + "/t.safetensors"], "--weight-decay must be a finite number >= 0, got -1.0"),
            (["train", "--model", "resnet20", "--data", "bundled", "--lr", "nan", "--out", work + "/t.safetensors"], "--lr must be a finite number > 0, got nan"),
            (["train", "--model", "resnet20", "--data", "bundled", "--batch-size", "0", "--out", work + "/t.safetensors"], "--batch-size must be in 1...4096, got 0"),
            // latency-table has the bounds of latency.
            (["latency-table", "--weights", w, "--batch", "-5", "--out", work + "/t.json"], "--batch must be in 1...4096, got -5"),
            (["latency-table", "--weights", w, "--budget", "inf", "--out", work + "/t.json"], "--budget must be between 0.1 and 3600 seconds, got inf"),
            (["latency-table", "--weights", w, "--latency-threads", "1000", "--out", work + "/t.json"], "--latency-threads must be in 1..."),
            (["latency-table", "--weights", w, "--image-size", "7", "--out", work + "/t.json"], "--image-size must be in 8...1024, got 7"),
            (["latency-table", "--weights", w, "--batch", "4096", "--image-size", "1024", "--out", work + "/t.json"], "more than the 16777216 (64 images of 512×512)"),
            (["latency-table", "--weights", w, "--out", ""], "--out must not be empty"),
            // So have the measurements of analyze and compress, at --image-size or the model's own side.
            (compress + ["--drop", "1", "--latency-batch", "4096", "--image-size", "1024"], "--latency-batch 4096 at --image-size 1024 is 4294967296 pixels per batch"),
            (["analyze", "--weights", w, "--data", "bundled", "--latency-batch", "64", "--image-size", "1024", "--out", work + "/a"], "--latency-batch 64 at --image-size 1024"),
            // Synthetic tiny sets: bounded, and the options they make meaningless refused before synthesis.
            (["synthesize", "--weights", w, "--num-samples", "99999999999", "--out", work + "/s"], "--num-samples must be in 1...100000, got 99999999999"),
            (compress + ["--drop", "1", "--data", "synthetic:200000"], "--data synthetic:N must be in 1...100000 images, got 200000"),
            (compress + ["--drop", "1", "--data", "synthetic:4", "--num-samples", "5"], "--num-samples 5 differs from --data synthetic:4"),
            (compress + ["--drop", "1", "--data", "synthetic:4", "--per-class", "2"], "the tiny set is the 4 synthesised images; leave out --per-class"),
            (compress + ["--drop", "1", "--synthetic-cache", work + "/c"], "--synthetic-cache \(work)/c is used only with --data synthetic:N"),
            (compress + ["--drop", "1", "--data", "synthetic:4", "--synthetic-cache", work + "/no/such/c"], "the folder \(work)/no/such does not exist"),
            (compress + ["--drop", "1", "--data", "synthetic:4", "--synthesis-method", "zeroq", "--method", "BP"], "--method BP needs labels, and ZeroQ images"),
            (["synthesize", "--weights", w, "--synthesis-method", "zeroq", "--synthesis-bn-weight", "0", "--out", work + "/s"], "ZeroQ optimises the batch-norm term alone"),
            (["synthesize", "--weights", w, "--synthesis-warmup", "100", "--synthesis-iterations", "1", "--out", work + "/s"], "--synthesis-warmup 100 must be shorter than the 1 iterations"),
            (["eval", "--weights", w, "--data", "bundled", "--seed", "-1"], "The value '-1' is invalid for '--seed <seed>'"),
            (["synthesize", "--weights", w, "--out", ".", "--force"], "--out . is the current folder or holds it"),
            (["export", "--weights", w, "--without", "layer1.1,layer1.1", "--out", work + "/x.onnx"], "--without names layer1.1 twice"),
            (["export", "--weights", w, "--without", ",", "--out", work + "/x.onnx"], "--without must name one or more blocks"),
            (["synthesize", "--weights", w, "--mean", "0.5", "--std", "nan", "--out", work + "/s"], "--std must be comma-separated finite numbers, got 'nan'"),
            (compress + ["--drop", "1", "--out", work + "/.."], "is the current folder or holds it"),
            (["export", "--model", "resnet20", "--out", work + "/x.onnx"], "export needs --weights FILE (or --weights bundled); pass --random-init"),
            (["export", "--weights", w, "--format", "tflite", "--out", work + "/x.onnx"], "The value 'tflite' is invalid for '--format <format>'"),
        ]
        for (args, message) in cases { try assertRefused(args, message) }
        // A negative number without `=` is read as the option's value.
        let (status, out) = try run(["eval", "--weights", w, "--data", "bundled", "--limit", "10", "--mean", "-0.5", "--std", "2"])
        XCTAssertEqual(status, 0, out)
    }

    func testUnusableEnvironmentVariablesAreErrorsNotIgnored() throws {
        try assertRefused(["blocks", "--model", "resnet20"], "PRACTISE_THREADS='abc' is not a thread count: expected an integer in 1...",
                          environment: ["PRACTISE_THREADS": "abc"])
        try assertRefused(["blocks", "--model", "resnet20"], "PRACTISE_THREADS='0' is not a thread count", environment: ["PRACTISE_THREADS": "0"])
        try assertRefused(["blocks", "--model", "resnet20"], "PRACTISE_SIMD='sse4' is not a SIMD level of this", environment: ["PRACTISE_SIMD": "sse4"])
        // A level of another architecture is not silently run as the portable one.
        #if arch(x86_64)
        try assertRefused(["blocks", "--model", "resnet20"], "PRACTISE_SIMD='neon' is not a SIMD level of this x86-64 machine: expected avx512, avx2, portable",
                          environment: ["PRACTISE_SIMD": "neon"])
        #elseif arch(arm64)
        try assertRefused(["blocks", "--model", "resnet20"], "PRACTISE_SIMD='avx2' is not a SIMD level of this arm64 machine: expected neon, portable",
                          environment: ["PRACTISE_SIMD": "avx2"])
        #endif
        try assertRefused(["blocks", "--model", "resnet20"], "PRACTISE_WINOGRAD='off' must be 0 (off) or 1 (on)", environment: ["PRACTISE_WINOGRAD": "off"])
    }

    func testLatencyRefusesAStudentThatTakesOtherImages() throws {
        let one = try weights(), three = try weights("r20c3", extra: ["--in-channels", "3"])
        try assertRefused(["latency", "--weights", one, "--student", three, "--runs", "1"],
                          "--student \(three) takes 3-channel images but the first model takes 1")
        // Weights that record the input they were trained at are timed at it; two that differ are refused.
        var file = try EditableSafeTensors(contentsOf: one)
        file.setMetadata("practise.image_size", "32")
        let at32 = work + "/r20-32.safetensors"
        try file.write(to: at32)
        file.setMetadata("practise.image_size", "28")
        let at28 = work + "/r20-28.safetensors"
        try file.write(to: at28)
        try assertRefused(["latency", "--weights", at28, "--student", at32, "--runs", "1"],
                          "--student \(at32) records an input of 32×32 pixels but the first model 28×28")
    }

    /// The demo's options are checked as compress checks them, before it announces or runs
    /// anything, and the refusal shows the demo's usage (it showed compress's).
    func testDemoRefusesAsItsOwnCommandBeforeStarting() throws {
        let (status, out) = try run(["demo", "--num-samples", "0", "--out", work + "/d"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(out.contains("--num-samples must be in 1..."), out)
        XCTAssert(out.contains("Usage: practise demo"), out)
        XCTAssertFalse(out.contains("practise compress"), out)
        XCTAssertFalse(out.contains("Usage: compress"), out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/d"))
    }

    // MARK: Lost or damaged files

    func testDemoNeverReplacesAFolderItDidNotWrite() throws {
        try FileManager.default.createDirectory(atPath: work + "/mine", withIntermediateDirectories: true)
        try "precious".write(toFile: work + "/mine/file", atomically: false, encoding: .utf8)
        try assertRefused(["demo", "--out", work + "/mine"], "\(work)/mine already exists and was not written by practise demo; use another --out, or --force")
        XCTAssertEqual(try String(contentsOfFile: work + "/mine/file", encoding: .utf8), "precious")
        // An earlier demo's folder (its marker) to which the user added a file is not replaced either.
        try "written by practise demo\n".write(toFile: work + "/mine/.practise-demo", atomically: false, encoding: .utf8)
        try "x".write(toFile: work + "/mine/report.json", atomically: false, encoding: .utf8)
        try assertRefused(["demo", "--out", work + "/mine"], "\(work)/mine holds file, which practise demo does not write")
        XCTAssertEqual(try String(contentsOfFile: work + "/mine/file", encoding: .utf8), "precious")
    }

    /// `analyze` resumes into an existing folder and `--force` discards it, so it must be its
    /// own analysis folder: never a folder of the user's files.
    func testAnalyzeNeverWritesIntoOrRemovesAFolderOfOtherFiles() throws {
        let w = try weights()
        try FileManager.default.createDirectory(atPath: work + "/mine", withIntermediateDirectories: true)
        try "precious".write(toFile: work + "/mine/scores.json", atomically: false, encoding: .utf8)
        let message = "--out \(work)/mine is a folder holding other files, not an analysis folder (it has no analysis-settings.json or analysis.json or latency.json or synthetic); give a new or empty folder"
        try assertRefused(["analyze", "--weights", w, "--data", "bundled", "--out", work + "/mine"], message)
        try assertRefused(["analyze", "--weights", w, "--data", "bundled", "--out", work + "/mine", "--force"], message)
        XCTAssertEqual(try String(contentsOfFile: work + "/mine/scores.json", encoding: .utf8), "precious")
    }

    /// Output folders and files are checked before any work: the parent must exist, be a folder
    /// and take new files (root passes access() for /proc and /sys, so files are really created).
    func testOutputsThatCannotBeCreatedAreRefusedBeforeAnyWork() throws {
        let w = try weights()
        for command in ["compress", "analyze"] {
            let args = [command, "--weights", w, "--data", "bundled", "--drop", "1"].filter { command == "compress" || $0 != "--drop" && $0 != "1" }
            try assertRefused(args + ["--out", "/"], "--out / is the root folder")
            try assertRefused(args + ["--out", work + "/missing/o"], "--out \(work)/missing/o: the folder \(work)/missing does not exist")
            #if os(Linux)
            try assertRefused(args + ["--out", "/proc/x"], "--out /proc/x: cannot create files in /proc (No such file or directory)")
            #endif
        }
        #if os(Linux)
        try assertRefused(["eval", "--weights", w, "--data", "bundled", "--json", "/proc/x"], "--json /proc/x: cannot create files in /proc")
        try assertRefused(["train", "--model", "resnet20", "--data", "bundled", "--out", "/proc/x.safetensors"], "--out /proc/x.safetensors: cannot create files in /proc")
        try assertRefused(["synthesize", "--weights", w, "--num-samples", "4", "--out", "/proc/x"], "--out /proc/x: cannot create files in /proc")
        try assertRefused(["latency-table", "--weights", w, "--out", "/proc/x.json"], "--out /proc/x.json: cannot create files in /proc")
        #endif
        try assertRefused(["synthesize", "--weights", w, "--num-samples", "4", "--out", work + "/missing/s"], "the folder \(work)/missing does not exist")
    }

    func testExportRefusesAnExistingFileWithoutForce() throws {
        let w = try weights()
        let target = work + "/keep.onnx"
        try "mine".write(toFile: target, atomically: false, encoding: .utf8)
        try assertRefused(["export", "--weights", w, "--out", target], "\(target) already exists; use --force to replace it")
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "mine")
        let (status, out) = try run(["export", "--weights", w, "--out", target, "--force"])
        XCTAssertEqual(status, 0, out)
        XCTAssertNotEqual(try String(contentsOfFile: target, encoding: .isoLatin1), "mine")
    }

    /// A file of the user's named like a lock (`OUT.lock`) or a folder named like compress's
    /// work folder (`OUT.partial`) is theirs: refused, left as it was, never removed or moved.
    func testAUsersLockFileOrWorkFolderIsNeverTakenOver() throws {
        let w = try weights()
        try "precious\n".write(toFile: work + "/o.lock", atomically: true, encoding: .utf8)
        try assertRefused(["compress", "--weights", w, "--data", "bundled", "--blocks", "layer1.1", "--out", work + "/o"],
                          "cannot use its lock file \(work)/o.lock: the file exists and is not a practise lock")
        try assertRefused(["analyze", "--weights", w, "--data", "bundled", "--out", work + "/o"], "is not a practise lock")
        XCTAssertEqual(try String(contentsOfFile: work + "/o.lock", encoding: .utf8), "precious\n")
        try FileManager.default.createDirectory(atPath: work + "/p.partial", withIntermediateDirectories: true)
        try "mine".write(toFile: work + "/p.partial/thesis.tex", atomically: true, encoding: .utf8)
        try assertRefused(["compress", "--weights", w, "--data", "bundled", "--blocks", "layer1.1", "--out", work + "/p"],
                          "\(work)/p.partial holds thesis.tex, which compress does not write")
        XCTAssertEqual(try String(contentsOfFile: work + "/p.partial/thesis.tex", encoding: .utf8), "mine")
        // A lock left by a killed run (a pid) is taken over as before.
        try "999999\n".write(toFile: work + "/q.lock", atomically: true, encoding: .utf8)
        let lock = try FileLock.acquire(work + "/q.lock")
        lock.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/q.lock"))
    }

    func testASecondRunIntoALockedOutputFolderIsRefusedPlainly() throws {
        let w = try weights()
        let lock = try FileLock.acquire(work + "/o.lock")  // as a running compress holds it
        defer { lock.release() }
        try assertRefused(["compress", "--weights", w, "--data", "bundled", "--blocks", "layer1.1", "--out", work + "/o"],
                          "another practise run (pid \(getpid())) is writing \(work)/o (it holds \(work)/o.lock); wait for it to finish or use another --out")
        try assertRefused(["analyze", "--weights", w, "--data", "bundled", "--out", work + "/o"], "another practise run (pid \(getpid())) is writing")
    }

    /// `train --resume` continues exactly the run that wrote the checkpoint: other options are
    /// refused naming each setting (they were once taken and recorded as if they had held).
    func testResumeRefusesOtherSettingsNamingThem() throws {
        let train = ["train", "--model", "resnet20", "--data", "bundled", "--epochs", "1", "--batch-size", "100", "--threads", "1",
                     "--out", work + "/t.safetensors"]
        let (status, out) = try run(train)
        XCTAssertEqual(status, 0, out)
        try assertRefused(train + ["--resume", "--force", "--batch-size", "50"],
                          "--resume: \(work)/t.safetensors.checkpoint.safetensors was made with other settings (practise.recipe:")
        try assertRefused(train + ["--resume", "--force", "--seed", "5", "--mean", "0.5", "--std", "0.5"], "practise.seed: '2021' in the checkpoint, '5' now")
        try assertRefused(train + ["--resume", "--force", "--mean", "0.5", "--std", "0.5"], "practise.normalization.mean")
        let (again, text) = try run(train + ["--resume", "--force"])
        XCTAssertEqual(again, 0, text)
        XCTAssert(text.contains("resuming after epoch 1"), text)
    }

    /// `export --out -` writes the model to standard output (it once wrote, and replaced, a
    /// file named `-` in the current folder).
    func testExportToStandardOutputLeavesAFileNamedDashAlone() throws {
        let w = try weights()
        try "precious".write(toFile: work + "/-", atomically: false, encoding: .utf8)
        for format in ["safetensors", "onnx"] {
            let (status, out, err) = try runSplit(["export", "--weights", w, "--format", format, "--out", "-"])
            XCTAssertEqual(status, 0, err)
            XCTAssertGreaterThan(out.utf8.count, 100_000, format)
            XCTAssertEqual(try String(contentsOfFile: work + "/-", encoding: .utf8), "precious")
        }
    }

    /// `--json -` is standard output (tables move to stderr); devices, pipes and symlinks are
    /// written through, not replaced.
    func testJSONGoesToStandardOutputDevicesAndSymlinkTargets() throws {
        let w = try weights()
        let eval = ["eval", "--weights", w, "--data", "bundled", "--limit", "10"]
        let (status, out, err) = try runSplit(eval + ["--json", "-"])
        XCTAssertEqual(status, 0, err)
        let json = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        XCTAssertEqual(json?["count"] as? Int, 10, out)
        XCTAssert(err.contains("top-1"), "the table goes to stderr: \(err)")

        try "old".write(toFile: work + "/target.json", atomically: false, encoding: .utf8)
        XCTAssertEqual(symlink(work + "/target.json", work + "/link.json"), 0)
        XCTAssertEqual(try run(eval + ["--json", work + "/link.json"]).0, 0)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: work + "/link.json"), work + "/target.json")
        XCTAssert(try String(contentsOfFile: work + "/target.json", encoding: .utf8).contains("\"count\""))

        XCTAssertEqual(try run(eval + ["--json", "/dev/null"]).0, 0)
        var info = stat()
        XCTAssertEqual(stat("/dev/null", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR)
    }

    // MARK: Vague errors

    func testErrorsNameTheFileAndTheProblemNotFoundationInternals() throws {
        let w = try weights()
        try FileManager.default.createDirectory(atPath: work + "/dir", withIntermediateDirectories: true)
        try assertRefused(["eval", "--weights", work + "/dir", "--data", "bundled"], "--weights \(work)/dir is a directory; expected a .safetensors, .pth or .onnx file")
        try assertRefused(["eval", "--weights", "/dev/zero", "--data", "bundled"], "--weights /dev/zero is not a regular file")
        try assertRefused(["inspect", "/dev/zero"], "/dev/zero is not a regular file")
        try assertRefused(["compress", "--weights", w, "--drop", "1", "--out", w + "/sub"], "--out \(w)/sub: \(w) is a file, not a folder")
        try assertRefused(["eval", "--weights", w, "--json", work + "/missing/e.json"], "--json \(work)/missing/e.json: the folder \(work)/missing does not exist")
        try assertRefused(["eval", "--weights", w, "--json", work + "/dir"], "--json \(work)/dir is a directory; expected a file")
        // An analysis folder whose settings file was emptied.
        try FileManager.default.createDirectory(atPath: work + "/analysis", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: work + "/analysis/analysis-settings.json", contents: Data())
        let (status, out) = try run(["analyze", "--weights", w, "--data", "bundled", "--num-samples", "10", "--analysis-iterations", "1", "--out", work + "/analysis"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(out.contains("\(work)/analysis/analysis-settings.json is damaged (empty, truncated or not the settings of an analysis)"), out)
        XCTAssertFalse(out.contains("DecodingError"), out)
        // A shared analysis folder whose manifest was emptied or cut.
        try FileManager.default.createDirectory(atPath: work + "/shared", withIntermediateDirectories: true)
        for (content, problem) in [("", "the file is empty); "), ("{", "not valid JSON ("), ("{\"a\": 1}", "missing key 'settings'); ")] {
            try content.write(toFile: work + "/shared/analysis.json", atomically: false, encoding: .utf8)
            try assertRefused(["analyze", "--status", work + "/shared"],
                              "\(work)/shared/analysis.json is damaged, not the manifest of a sharded analysis (\(problem)")
        }
    }

    /// An explicit batch larger than the tiny set is lowered to the set's size, and says so.
    func testAnEnormousBatchIsLoweredToTheTinySetAndSaysSo() throws {
        let w = try weights()
        let (status, out, err) = try runSplit(["compress", "--weights", w, "--data", "bundled", "--blocks", "layer3.2", "--finetune-iterations", "1",
                                               "--num-samples", "10", "--batch-size", "4096", "--latency-batch", "2", "--no-onnx", "--out", work + "/o"])
        XCTAssertEqual(status, 0, out + err)
        XCTAssert(err.contains("note: --batch-size 4096 is larger than the tiny set (10 images); using 10"), err)
    }
}
