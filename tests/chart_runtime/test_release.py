"""The chart's rendered output, run as a cluster runs it (Podman, kubelet.py): every workload with its
rendered spec, Helm's hook order, Services by short and qualified name, every probe, one file of each
media kind through the API, `helm test`, KEDA's trigger from KEDA's namespace, and scale-in under load."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.chart_runtime import kubelet, manifest
from tests.chart_runtime.release import NAMESPACE, RELEASE, Release
from tests.containers.media import sample_files
from tests.support import services

pytestmark = pytest.mark.timeout(1800)
KEDA_VIEW = Path(__file__).with_name("keda_view.py")


def _running(release: Release) -> list[manifest.Pod]:
    return [p for p in release.pods if p.phase == "release"]


def _inspect(release: Release, pod: manifest.Pod, container: manifest.Container) -> dict:
    out = kubelet.podman("inspect", release.cluster.name(pod.name, container.name)).stdout
    return json.loads(out)[0]


def _image_config(image: str) -> dict:
    return json.loads(kubelet.podman("image", "inspect", image).stdout)[0]


def _expected_argv(container: manifest.Container, image: dict) -> list[str]:
    """Kubernetes' rule: command replaces ENTRYPOINT, args replace CMD, and a command alone drops CMD."""
    entrypoint = container.command if container.command is not None else image["Config"].get("Entrypoint") or []
    cmd = container.args if container.args is not None else [] if container.command else image["Config"].get("Cmd")
    return [*entrypoint, *(cmd or [])]


def _argv(seen: dict) -> list[str]:
    # Podman 4.3 reports a one-word command as Path plus Args == [Path]; longer ones as Path plus the rest.
    return [seen["Path"], *seen["Args"]] if seen["Args"] != [seen["Path"]] else [seen["Path"]]


def test_every_workload_runs_its_rendered_spec(installed: Release):
    mismatches = []
    for pod in [p for p in installed.pods if p.phase in manifest.PHASES]:
        for container in pod.containers:
            seen, image = _inspect(installed, pod, container), _image_config(container.image)
            env = dict(item.split("=", 1) for item in seen["Config"]["Env"])
            host = seen["HostConfig"]
            actual = {
                "image": seen["Image"], "argv": _argv(seen),
                "env": {k: env.get(k) for k in container.env},
                "user": seen["Config"]["User"], "read_only": host["ReadonlyRootfs"],
                "memory": host["Memory"] or None, "mounts": sorted(m["Destination"] for m in seen["Mounts"]),
                "no_new_privileges": "no-new-privileges" in (host.get("SecurityOpt") or []),
            }
            expected = {
                "image": image["Id"], "argv": _expected_argv(container, image), "env": container.env,
                "user": f"{container.user}:{container.group}" if container.group is not None else str(container.user),
                "read_only": container.read_only_root, "memory": container.memory_limit,
                "mounts": sorted(m.path for m in container.mounts), "no_new_privileges": container.no_new_privileges,
            }
            if "ALL" in container.drop_caps:
                expected["capabilities"], actual["capabilities"] = [], seen.get("EffectiveCaps") or []
            mismatches += [(pod.name, container.name, key, expected[key], actual[key])
                           for key in expected if expected[key] != actual[key]]

    assert not mismatches, "\n".join(map(str, mismatches))


def test_hooks_ran_in_helm_order_and_jobs_succeeded(installed: Release):
    phases = [event.split(":")[0] for event in installed.cluster.events if not event.startswith("platform")]
    order = [manifest.PHASES.index(p) for p in phases]

    assert order == sorted(order), installed.cluster.events
    for pod in installed.pods:
        if pod.kind == "Job" and pod.phase in manifest.PHASES:
            assert kubelet.state(installed.cluster, pod, pod.containers[0])["ExitCode"] == 0, pod.name


RESOLVE = """
import json, socket, sys
out = {}
for name, port in json.loads(sys.argv[1]):
    try:
        address = socket.gethostbyname(name)
        socket.create_connection((name, port), timeout=5).close()
        out[name] = address
    except OSError as err:
        out[name] = repr(err)
print(json.dumps(out))
"""


def test_services_answer_by_short_and_qualified_name(installed: Release):
    cluster, api = installed.cluster, installed.pod("api")
    targets = [(name, port) for s in cluster.services for port in s.ports
               for name in (s.name, f"{s.name}.{NAMESPACE}.svc.cluster.local")]

    done = kubelet.podman("exec", cluster.name(api.name, "api"), "python", "-c", RESOLVE, json.dumps(targets))

    seen = json.loads(done.stdout)
    expected = {name: cluster.address("svc/" + name.split(".")[0]) for name, _ in targets}
    assert seen == expected


def test_every_rendered_probe_passes(installed: Release):
    failures = {(pod.name, container.name, probe.kind): why
                for pod in _running(installed) for container in pod.containers for probe in container.probes
                if (why := kubelet.run_probe(installed.cluster, pod, container, probe))}

    assert not failures, failures


def _api(installed: Release) -> httpx.Client:
    return httpx.Client(base_url=installed.api_url(), timeout=60,
                        headers={"Authorization": f"Bearer {installed.secret('api-token')}"})


def _ingest(api: httpx.Client, files: list) -> list[str]:
    answer = api.post(f"/api/voyages/runtime-{secrets.token_hex(3)}/media",
                      files=[("files", (path.name, path.read_bytes())) for path in files])
    assert answer.status_code == 202, answer.text
    return [item["media_id"] for item in answer.json()["files"]]


def _final(api: httpx.Client, media_id: str, timeout: float = 300) -> dict:
    return services.wait_until_final(lambda path: api.get(path).json(), media_id, timeout, 1.0)


def test_each_media_kind_completes_through_the_api(installed: Release, tmp_path):
    files = sample_files(tmp_path)
    with _api(installed) as api:
        media_ids = _ingest(api, list(files.values()))
        finals = {kind: _final(api, media_id) for kind, media_id in zip(files, media_ids)}

    assert {kind: (f["status"], bool(f["derivatives"])) for kind, f in finals.items()} == dict.fromkeys(
        files, ("completed", True)), finals


def test_helm_test_pod_passes(installed: Release):
    tests = [p for p in installed.pods if p.phase == "test"]
    assert tests, "the chart renders no helm test pod"
    for pod in tests:
        kubelet.start_pod(installed.cluster, pod)
        code = kubelet.wait_exit(installed.cluster, pod, timeout=400)
        assert code == 0, kubelet.logs(installed.cluster, pod, pod.containers[0])


def _keda_triggers(installed: Release) -> list[dict]:
    objects = manifest.Objects(installed.docs, NAMESPACE)
    auths = {d["metadata"]["name"]: d for d in installed.docs if d.get("kind") == "TriggerAuthentication"}
    triggers = []
    for scaled in (d for d in installed.docs if d.get("kind") == "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            found = dict(trigger["metadata"])
            ref = (trigger.get("authenticationRef") or {}).get("name")
            for target in (auths[ref]["spec"]["secretTargetRef"] if ref else []):
                found[target["parameter"]] = objects.secrets[target["name"]][target["key"]].decode()
            triggers.append(found)
    return triggers


def _true_lengths(installed: Release, lists: list[str]) -> dict[str, int]:
    return {name: int(kubelet.podman(*installed.redis_cli, "LLEN", name).stdout.strip()) for name in lists}


def test_keda_trigger_reads_the_true_queue_length_from_kedas_namespace(installed: Release, tmp_path):
    cluster, worker = installed.cluster, installed.pod("worker-thumbnails")
    triggers = _keda_triggers(installed)
    assert triggers, "no ScaledObject rendered"
    kubelet.start_sandbox(cluster, "keda-operator-0", "keda")
    kubelet.podman("pause", cluster.name(worker.name, "worker"))
    try:
        with _api(installed) as api:
            _ingest(api, [sample_files(tmp_path)["image"]] * 3)
        lists = [t["listName"] for t in triggers]
        deadline = time.monotonic() + 60
        while not _true_lengths(installed, ["thumbnails"])["thumbnails"] and time.monotonic() < deadline:
            time.sleep(1)  # the outbox relay publishes within its interval
        seen = kubelet.run_once(cluster, "keda-operator-0", installed.pod("worker-media").containers[0].image,
                                ["python", "/keda_view.py", json.dumps(triggers)], {KEDA_VIEW: "/keda_view.py"})
        truth = _true_lengths(installed, lists)
    finally:
        kubelet.podman("unpause", cluster.name(worker.name, "worker"))

    assert seen.returncode == 0, seen.stderr[-3000:]
    assert truth["thumbnails"] > 0
    assert json.loads(seen.stdout) == truth


def _long_video(directory: Path) -> Path:
    path = directory / "long-voyage.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=duration=240:size=1280x720:rate=25", "-c:v", "mpeg4", "-q:v", "2", "-g", "250",
                    str(path)], check=True, timeout=600)
    return path


def test_scale_in_mid_video_loses_nothing_and_exits_within_the_grace_period(installed: Release, tmp_path):
    cluster, worker = installed.cluster, installed.pod("worker-thumbnails")
    video, others = _long_video(tmp_path), list(sample_files(tmp_path).values())
    with _api(installed) as api:
        media_ids = _ingest(api, [video, *others])
        deadline = time.monotonic() + 120
        while api.get(f"/api/media/{media_ids[0]}").json()["status"] != "processing":
            assert time.monotonic() < deadline, "the video never started processing"
            time.sleep(0.05)
        seconds = kubelet.stop(cluster, worker, worker.containers[0])
        exited = kubelet.state(cluster, worker, worker.containers[0])
        survivor = kubelet.replica(worker, 1)  # the replica that stays after the scale-in
        kubelet.start_pod(cluster, survivor)
        kubelet.wait_ready(cluster, survivor)
        finals = [_final(api, media_id) for media_id in media_ids]

    assert seconds < worker.grace_seconds, seconds
    assert exited["ExitCode"] == 0, (exited, kubelet.logs(cluster, worker, worker.containers[0])[-3000:])
    assert [f["status"] for f in finals] == ["completed"] * len(media_ids), finals
    print(f"\nscale-in: the worker stopped {seconds:.1f} s after SIGTERM (grace {worker.grace_seconds} s)")
