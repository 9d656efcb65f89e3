#!/usr/bin/env bash
# End-to-end check of the ONNX writer: the Swift test EndToEndTests writes a small CNN
# (model.onnx) plus inputs and reference logits for batch 1 and 8 into a directory, then
# check-onnx.py validates the model and compares onnxruntime's output for both batches.
#
#   Scripts/e2e-onnx.sh [OUT_DIR]      (PYTHON=... to pick an interpreter with onnx+onnxruntime;
#                                       default: .venv/bin/python if present, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-$PWD/e2e-out}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
rm -f "$OUT"/model.onnx "$OUT"/input_b*.bin* "$OUT"/expected_b*.bin*

ONNX_E2E_DIR="$OUT" swift test --filter EndToEndTests.smallCNNModelAndReferenceOutputs
[[ -f "$OUT/model.onnx" ]] || { echo "e2e: the Swift test wrote no model to $OUT" >&2; exit 1; }

status=0
for b in 1 8; do
    echo "== batch $b =="
    "$PYTHON" Scripts/check-onnx.py "$OUT/model.onnx" \
        --input "$OUT/input_b$b.bin" --expected "$OUT/expected_b$b.bin" --tolerance 1e-4 || status=1
done
if [[ $status -eq 0 ]]; then echo "e2e-onnx: PASS (batch 1 and 8)"; else echo "e2e-onnx: FAIL" >&2; fi
exit $status
