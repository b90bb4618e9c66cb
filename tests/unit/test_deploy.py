"""The deployment files agree with the code: the Kubernetes containers' arguments and hooks parse as
`vagus` commands, the probes are the server's, the grace period covers the drain, the agent config is
valid; the container image installs extras that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from vagus.cli import _parser
from vagus.config import AgentConfig

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = {"POD_IP": "10.1.2.3", "POD_NAME": "vagus-node-7d9f-abcde"}


def documents() -> list[dict]:
    return [d for d in yaml.safe_load_all((ROOT / "deploy/kubernetes/vagus.yaml").read_text()) if d]


def expand(text: str) -> str:
    """Kubernetes' $(VAR) in args, and the shell's "$VAR" in a hook."""
    text = re.sub(r"\$\((\w+)\)", lambda m: SAMPLE[m.group(1)], text)
    return re.sub(r"\$(\w+)", lambda m: SAMPLE[m.group(1)], text)


def test_the_containers_run_vagus_commands_that_parse():
    kinds = {(d["kind"], d["metadata"]["name"]) for d in documents()}
    assert {("Deployment", "nats"), ("Service", "nats"), ("Deployment", "vagus-node"),
            ("Deployment", "vagus-front"), ("Service", "vagus"), ("ConfigMap", "vagus-agent")} <= kinds  # fmt: skip
    agent = next(d for d in documents() if d["kind"] == "ConfigMap")["data"]["agent.yaml"]
    config = AgentConfig.model_validate(yaml.safe_load(agent))
    assert config.server.cluster.url == "nats://nats:4222"
    vagus = [d for d in documents() if d["kind"] == "Deployment" and d["metadata"]["name"].startswith("vagus")]
    for deployment in vagus:
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        args = _parser().parse_args([expand(a) for a in container["args"]])
        assert args.command == "serve" and args.config == Path("/etc/vagus/agent.yaml")
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert {e["name"] for e in container["env"]} >= {"VAGUS_SECRET", "VAGUS_API_KEY"}
    node = next(d for d in vagus if d["metadata"]["name"] == "vagus-node")["spec"]["template"]["spec"]
    assert node["hostNetwork"] is True and node["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert node["terminationGracePeriodSeconds"] > config.server.cluster.drain_s
    node_args = _parser().parse_args([expand(a) for a in node["containers"][0]["args"]])
    assert node_args.host == SAMPLE["POD_IP"] and node_args.node_id == SAMPLE["POD_NAME"]
    hook = node["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert hook[:2] == ["sh", "-c"]
    drain = _parser().parse_args(shlex.split(expand(hook[2]))[1:])
    assert (drain.command, drain.action, drain.node) == ("cluster", "drain", SAMPLE["POD_NAME"])
    front = next(d for d in vagus if d["metadata"]["name"] == "vagus-front")["spec"]["template"]["spec"]
    assert _parser().parse_args([expand(a) for a in front["containers"][0]["args"]]).front_door


def test_the_image_installs_extras_that_exist():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    (extras,) = re.findall(r"VAGUS_EXTRAS=(\S+) bash scripts/setup.sh", dockerfile)
    pyproject = (ROOT / "pyproject.toml").read_text()
    for extra in extras.split(","):
        assert re.search(rf"^{extra} = \[", pyproject, re.M), extra
    assert "VAGUS_EXTRAS" in (ROOT / "scripts/setup.sh").read_text()
    assert 'ENTRYPOINT ["vagus"]' in dockerfile
