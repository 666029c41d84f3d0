#!/usr/bin/env bash
# The GPU checks and benchmarks, in one run on a machine with a CUDA device:
#   bash tools/gpu_check.sh [LOGDIR]
#   GPU_CHECK_STEPS="env cuda_tests" bash tools/gpu_check.sh   # some steps only
# Needs torch (CUDA build), numpy, scipy, pandas, h5py, pyarrow, matplotlib, scikit-learn and
# pytest; not snakemake, galsim or skypy (nothing here generates a survey). Writes one log per
# step to LOGDIR (default: $OUT, else ./gpu-check-logs) and prints the tables. The logs of the
# run on an H100 are in docs/gpu-check-h100/.
set -uo pipefail
LOG=${1:-${OUT:-gpu-check-logs}}
mkdir -p "$LOG"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
STEPS=${GPU_CHECK_STEPS:-env cuda_tests jobs_default jobs_paper jobs_paper_eager heads_paper_cpu train_netp train_netp_compile}
status=0
step() {  # step NAME TIMEOUT_S COMMAND...
  local name=$1 limit=$2; shift 2
  case " $STEPS " in *" $name "*) ;; *) return 0 ;; esac
  echo "=== $name: $*"
  local t0=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee "$LOG/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: exit $rc after $((SECONDS - t0)) s"
  [ "$rc" = 0 ] || status=1
}
step env 60 bash -c "nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; $PY -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())'"
# the GPU path of the package against the CPU (tests/test_cuda.py, skipped without CUDA)
step cuda_tests 300 $PY -m pytest -q -s -p no:cacheprovider tests/test_cuda.py
# the workflow's heavy jobs at the CPU default's and the paper's sizes (PHOTOZ_COMPILE=auto)
step jobs_default 180 $PY -m photoz_debias.bench.jobs --device cuda --sizes default --scale 1
step jobs_paper 240 $PY -m photoz_debias.bench.jobs --device cuda --sizes paper --scale 0.01
step jobs_paper_eager 180 $PY -m photoz_debias.bench.jobs --device cuda --sizes paper --scale 0.01 --jobs train --compile 0
step heads_paper_cpu 120 $PY -m photoz_debias.bench.jobs --device cuda --heads-device cpu --threads 1 --sizes paper --jobs heads --scale 0.005
# the training step alone, against a plain fp32 loop
step train_netp 180 $PY -m photoz_debias.bench.training --net netp --unit multi --batch 128 --device cuda --steps 200 --warmup 30
step train_netp_compile 240 $PY -m photoz_debias.bench.training --net netp --unit multi --batch 128 --device cuda --steps 300 --warmup 60 --compile --no-plain
echo "=== gpu_check: $([ $status = 0 ] && echo all steps passed || echo SOME STEPS FAILED)"
exit $status
