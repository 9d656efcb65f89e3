#!/usr/bin/env python3
"""Parses deploy/kubernetes/ (Kubernetes cannot run on the development or CI machines) and checks
that the manifests say what the README promises: an Indexed Job whose pods run one shard each
from JOB_COMPLETION_INDEX into a ReadWriteMany volume, and a merge Job on the same volume and
options. Exit 1 naming the first broken expectation."""
import os, sys
import yaml

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "kubernetes")

def load(name):
    with open(os.path.join(root, name)) as f:
        return [d for d in yaml.safe_load_all(f) if d]

def check(cond, what):
    if not cond:
        sys.exit(f"check-kubernetes: {what}")

def env(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}

docs = load("analysis-job.yaml")
jobs = [d for d in docs if d["kind"] == "Job"]
pvcs = [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
check(len(jobs) == 1 and len(pvcs) == 1, "analysis-job.yaml: expected one Job and one PersistentVolumeClaim")
job, pvc = jobs[0], pvcs[0]
check(job["apiVersion"] == "batch/v1", "analysis Job: apiVersion batch/v1")
spec = job["spec"]
check(spec.get("completionMode") == "Indexed", "analysis Job: completionMode Indexed")
n = spec["completions"]
check(isinstance(n, int) and n >= 1, "analysis Job: completions a positive integer")
check(1 <= spec["parallelism"] <= n, "analysis Job: 1 <= parallelism <= completions")
check(isinstance(spec.get("backoffLimitPerIndex"), int), "analysis Job: backoffLimitPerIndex set")
pod = spec["template"]["spec"]
check(pod["restartPolicy"] == "Never", "analysis Job: restartPolicy Never (required with backoffLimitPerIndex)")
(c,) = pod["containers"]
script = " ".join(c["command"] + c["args"])
e = env(c)
for piece in ["practise analyze", "$ANALYZE_ARGS", '--shard-index "$JOB_COMPLETION_INDEX"', '--shard-count "$SHARDS"', "--out /analysis/run", '--threads "$THREADS"']:
    check(piece in script, f"analysis Job: the command has {piece}")
check(e.get("SHARDS") == str(n), f"analysis Job: SHARDS ({e.get('SHARDS')}) equals completions ({n})")
check(e.get("THREADS") == str(c["resources"]["requests"]["cpu"]), "analysis Job: THREADS equals the CPU request")
check(any(m["mountPath"] == "/analysis" for m in c["volumeMounts"]), "analysis Job: the volume is mounted at /analysis")
claim = pod["volumes"][0]["persistentVolumeClaim"]["claimName"]
check(pvc["metadata"]["name"] == claim, "analysis Job: mounts the claim defined beside it")
check(pvc["spec"]["accessModes"] == ["ReadWriteMany"], "claim: accessModes ReadWriteMany")

(merge,) = load("merge-job.yaml")
check(merge["kind"] == "Job" and merge["apiVersion"] == "batch/v1", "merge-job.yaml: a batch/v1 Job")
mpod = merge["spec"]["template"]["spec"]
(mc,) = mpod["containers"]
mscript = " ".join(mc["command"] + mc["args"])
for piece in ["--merge /analysis/run", "--analysis /analysis/run", "practise compress"]:
    check(piece in mscript, f"merge Job: the command has {piece}")
check(env(mc)["ANALYZE_ARGS"] == e["ANALYZE_ARGS"], "merge Job: the same ANALYZE_ARGS as the shards")
check(mpod["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim, "merge Job: the same claim as the shards")
check(mc["image"] == c["image"], "merge Job: the same image as the shards")

with open(os.path.join(root, "Dockerfile")) as f:
    docker = f.read()
check("swift build -c release --product practise" in docker, "Dockerfile: builds the release binary")
print(f"kubernetes manifests: Indexed Job of {n} shards (parallelism {spec['parallelism']}, backoffLimitPerIndex {spec['backoffLimitPerIndex']}), ReadWriteMany claim '{claim}', merge Job: ok")
