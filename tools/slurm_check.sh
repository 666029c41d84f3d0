#!/usr/bin/env bash
# The workflow on a real SLURM scheduler, through profiles/slurm: as root on a Debian 12 machine
# without systemd,
#   bash tools/slurm_check.sh [WORKDIR]          # WORKDIR default: a new /tmp/slurm-check.XXXXXX
# installs slurm-wlm and munge (apt, skipped when present), starts a one-node cluster (munged,
# slurmctld, slurmd; one GPU gres on the node, backed by /dev/null, so that the GPU rules'
# --gpus=1 is accepted and scheduled like on a GPU node; no job accounting, so the profile's
# squeue status command is what makes the run finish), runs the tiny config reduced by
# tests/config/slurm.yaml through the profile, and checks:
#   - every job of the DAG completed as a SLURM job (SLURM's own job-completion log), the GPU
#     rules' jobs with a GPU and only those;
#   - every output exists and is not empty (`snakemake --summary`);
#   - a second invocation has nothing to be done.
# The daemons it started are stopped by their pid files on exit. Needs snakemake and
# snakemake-executor-plugin-slurm (pip install -e ".[dev]"). Exit status 0 = all checks passed.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-$(mktemp -d /tmp/slurm-check.XXXXXX)}
mkdir -p "$W"
W=$(cd "$W" && pwd)
PY=${PYTHON:-python3}
export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
t0=$SECONDS
say() { echo "=== slurm_check [$((SECONDS - t0)) s]: $*"; }
fail() { say "FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (it installs packages and starts daemons)"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >"$W/apt.log"
fi

# --- the cluster: its state and logs under $W, its configuration where every SLURM command looks
# (srun inside a job does not see SLURM_CONF); a configuration this script did not write is kept.
CONF_DIR=/etc/slurm
MARK="# written by photoz-debias tools/slurm_check.sh"
if [ -e "$CONF_DIR/slurm.conf" ] && ! grep -qxF "$MARK" "$CONF_DIR/slurm.conf"; then
  fail "$CONF_DIR/slurm.conf exists and was not written by this script: not touching a real cluster's configuration"
fi
mkdir -p "$CONF_DIR"
HOST=$(hostname -s)
NCPU=$(nproc)
# Declare less memory than the node has (slurmd refuses a node that declares more), at most 16 GB.
MEM=$(awk '/MemTotal/ {m = int($2 / 1024 * 0.8); print (m > 16000 ? 16000 : m)}' /proc/meminfo)
mkdir -p "$W/state" "$W/spool"
cat >"$CONF_DIR/slurm.conf" <<EOF
$MARK
ClusterName=photozcheck
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/slurmctld.log
SlurmdLogFile=$W/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
GresTypes=gpu
# No accounting (no slurmdbd): sacct fails, as on such clusters; the profile polls squeue.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# Every finished job's state, for the checks below; the epilog records the GPUs it held
# (tracking gres/gpu as a TRES would need slurmdbd).
JobCompType=jobcomp/filetxt
JobCompLoc=$W/jobcomp.txt
Epilog=$W/epilog.sh
# SLURM's default; squeue needs finished jobs to stay visible between the plugin's status checks.
MinJobAge=300
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$MEM Gres=gpu:1 State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
printf '%s\nNodeName=%s Name=gpu File=/dev/null\n' "$MARK" "$HOST" >"$CONF_DIR/gres.conf"
printf '#!/bin/sh\necho "JobId=$SLURM_JOB_ID gpus=${SLURM_JOB_GPUS:-none}" >>%s/gpus.txt\n' "$W" >"$W/epilog.sh"
chmod 755 "$W/epilog.sh"

STARTED=()  # pid files of the daemons this script started
stop_daemons() {
  local i pidfile pid
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    pidfile=${STARTED[i]}
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    echo "stopped pid $pid ($pidfile)"
  done
}
trap stop_daemons EXIT

if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged already running: using it"
else
  [ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none; }
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  install -d -o munge -g munge -m 755 /run/munge
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  STARTED+=(/run/munge/munged.pid)
  munge -n | unmunge >/dev/null || fail "munge does not work (see /var/log/munge/munged.log)"
fi
/usr/sbin/slurmctld
STARTED+=("$W/slurmctld.pid")
/usr/sbin/slurmd -N "$HOST"
STARTED+=("$W/slurmd.pid")
node_state() { timeout 10 sinfo -h -N -o "%t" 2>/dev/null; }
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ] && [ "$(node_state)" != idle ]; do
  sleep 1
  for d in slurmctld slurmd; do
    kill -0 "$(cat "$W/$d.pid" 2>/dev/null || echo 0)" 2>/dev/null || { tail -n 5 "$W/$d.log"; fail "$d died (log: $W/$d.log)"; }
  done
done
timeout 10 sinfo -N -o "%N %t %c %m %G" || true
[ "$(node_state)" = idle ] || fail "the node did not come up (logs: $W/slurmctld.log, $W/slurmd.log)"
say "cluster up: $HOST, $NCPU CPUs, ${MEM} MB, gpu:1"

# --- the workflow through the profile -----------------------------------------------------------
RUN=$W/run
mkdir -p "$RUN"
SMK=("$PY" -m snakemake --snakefile "$REPO/Snakefile" --directory "$RUN"
     --configfile "$REPO/tests/config/config.yaml" "$REPO/tests/config/slurm.yaml")
PROFILE=(--workflow-profile "$REPO/profiles/slurm"
         --slurm-init-seconds-before-status-checks 5 --latency-wait 5)
"${SMK[@]}" "${PROFILE[@]}" -n >"$W/dryrun.log" 2>&1 || { tail -30 "$W/dryrun.log"; fail "dry run"; }
# the first "Job stats" table of the dry run (it prints two)
stats() { awk '/^Job stats/ {t++} t == 1' "$W/dryrun.log"; }
N_JOBS=$(stats | awk '$1 == "total" {print $2}')
N_GPU=$(stats | awk '$1 ~ /^(train_baseline|train_step1|represent|predict_baseline)$/ {n += $2} END {print n + 0}')
N_LOCAL=$(stats | awk '$1 == "all" {print $2}')  # the target rule runs in the main process
say "running $N_JOBS jobs ($N_GPU on the GPU) through profiles/slurm; log: $W/run.log"
if ! "${SMK[@]}" "${PROFILE[@]}" --verbose >"$W/run.log" 2>&1; then
  tail -60 "$W/run.log"
  fail "the workflow run"
fi
grep -E "^[0-9]+ of [0-9]+ steps" "$W/run.log" | tail -1
say "run finished"

# --- checks -------------------------------------------------------------------------------------
status=0
check() {  # check DESCRIPTION CONDITION...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "NOT OK: $what"; status=1; fi
}
# SLURM's completion log: one line per job ("JobId=5 ... JobState=COMPLETED ..."); the epilog's:
# "JobId=5 gpus=0" for a job that held GPU 0, "JobId=6 gpus=none" for one without
N_SLURM=$(grep -c "JobState=" "$W/jobcomp.txt" || true)
N_DONE=$(grep -c "JobState=COMPLETED" "$W/jobcomp.txt" || true)
# the rule of each SLURM job, from the plugin's "submitted with SLURM jobid 5 (log: .../rule_<rule>/..."
grep -o "submitted with SLURM jobid [0-9]* (log: [^ ]*/rule_[A-Za-z0-9_]*" "$W/run.log" |
  sed -E 's|.*jobid ([0-9]+) .*/rule_([A-Za-z0-9_]+)$|\1 \2|' >"$W/job_rules.txt"
GPU_HOLDERS=$(awk 'NR == FNR {rule[$1] = $2; next} $2 ~ /^gpus=[0-9]/ {sub("JobId=", "", $1); print rule[$1]}' \
  "$W/job_rules.txt" "$W/gpus.txt" | sort | tr '\n' ' ')
N_SLURM_GPU=$(echo "$GPU_HOLDERS" | wc -w)
echo "SLURM jobs: $N_SLURM finished, $N_DONE completed, $N_SLURM_GPU with a GPU: $GPU_HOLDERS"
gpu_holders_ok() {
  [ "$N_SLURM_GPU" -eq "$N_GPU" ] && [ "$N_GPU" -gt 0 ] &&
    ! echo "$GPU_HOLDERS" | tr ' ' '\n' | grep -qvE '^(train_baseline|train_step1|represent|predict_baseline|)$'
}
check "every job but the target ran as a completed SLURM job ($N_DONE of $((N_JOBS - N_LOCAL)))" \
  test "$N_DONE" -eq $((N_JOBS - N_LOCAL)) -a "$N_SLURM" -eq "$N_DONE"
check "exactly the GPU rules' jobs held a GPU ($N_SLURM_GPU of $N_GPU)" gpu_holders_ok
check "the jobs were submitted with --gpus=1 for the GPU rules only" \
  test "$(grep -c "sbatch call:.*--gpus=1" "$W/run.log")" -eq "$N_GPU"
"${SMK[@]}" --workflow-profile none --summary >"$W/summary.tsv" 2>"$W/summary.err" || { cat "$W/summary.err"; fail "summary"; }
outputs_ok() {
  # columns: output_file date rule log-file(s) status plan
  awk -F'\t' -v run="$RUN" 'NR > 1 {
      n++
      if ($5 != "ok") { print "  status " $5 ": " $1; bad++ }
      f = run "/" $1
      if (system("test -s \"" f "\" || test -d \"" f "\"") != 0) { print "  missing or empty: " $1; bad++ }
    } END { print "  " n " outputs"; exit (n > 0 && bad == 0) ? 0 : 1 }' "$W/summary.tsv"
}
check "every output exists, is not empty and is up to date" outputs_ok
"${SMK[@]}" "${PROFILE[@]}" -n >"$W/rerun.log" 2>&1 || true
check "a second invocation has nothing to be done" grep -q "Nothing to be done" "$W/rerun.log"
say "$([ $status = 0 ] && echo "all checks passed" || echo "SOME CHECKS FAILED") (files in $W)"
exit $status
