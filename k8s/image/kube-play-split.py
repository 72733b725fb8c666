#!/usr/bin/env python3
"""Turns a rendered overlay into what `podman kube play` (4.3) can run (scripts/deploy-test).

usage: kube-play-split.py RENDERED.yaml OUT_DIR

Writes into OUT_DIR:
  <name>.yaml     one file per Deployment, with the ConfigMaps it reads, to play (and kill and
                  start again) one at a time; the migration Job's pod template as the Pod
                  lc-migrate.yaml (kube play runs no Jobs);
  secrets/<name>  each Secret as podman 4.3's secretKeyRef reads it: a JSON object of base64
                  values (the Secret objects of a played file are stored in a form its own
                  secretKeyRef cannot parse);
  hosts           an /etc/hosts from the pods' hostAliases, mounted into every container: podman
                  4.3 writes the aliases only into the pod's infra container when the pod uses the
                  host's network, where Kubernetes writes them into every container;
  skipped.txt     every object not played, by kind, with the reason.
Every image is named with localhost/, where scripts/deploy-test tagged it.
"""
import base64
import json
import os
import sys

import yaml

# What kube play lacks, and how scripts/deploy-test and docs/DEPLOY.md account for it.
NOT_PLAYED = {
    "Namespace": "no namespaces in podman",
    "ServiceAccount": "no API server (no pod mounts a token anyway)",
    "Service": "no cluster DNS or virtual IPs: host aliases map the names to 127.0.0.1",
    "HorizontalPodAutoscaler": "no autoscaler: one pod per Deployment",
    "PodDisruptionBudget": "no evictions without a cluster",
    "NetworkPolicy": "no CNI on the host network: checked by k8s/validate instead",
    "Ingress": "no ingress controller: the journey calls the gateway directly",
}


def played_config_maps(objects, pod_spec):
    """The ConfigMaps a pod spec reads through envFrom or configMapKeyRef."""
    names = set()
    for container in pod_spec.get("containers", []):
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                names.add(source["configMapRef"]["name"])
        for env in container.get("env", []):
            ref = (env.get("valueFrom") or {}).get("configMapKeyRef")
            if ref:
                names.add(ref["name"])
    return [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] in names]


def local_image(image):
    """Podman looks a short name up in its own storage first, as localhost/NAME."""
    first = image.split("/")[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return image
    return "localhost/" + image


def numbered(port, named):
    """A probe's port by number: the port list it names goes (see below)."""
    return named.get(port, port) if isinstance(port, str) else port


def drop_absent_optional_secrets(spec, secrets):
    """What Kubernetes does with an optional Secret that does not exist: no variable, an empty
    volume. Podman 4.3 refuses the pod instead, so both go (the WeChat Secrets and lc-redis)."""
    absent = set()
    for volume in spec.get("volumes", []):
        secret = volume.get("secret")
        if secret and secret.get("optional") and secret["secretName"] not in secrets:
            absent.add(volume["name"])
    spec["volumes"] = [v for v in spec.get("volumes", []) if v["name"] not in absent]
    for container in spec["containers"]:
        container["volumeMounts"] = [
            m for m in container.get("volumeMounts", []) if m["name"] not in absent]
        kept = []
        for env in container.get("env", []):
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if not (ref and ref.get("optional") and ref["name"] not in secrets):
                kept.append(env)
        container["env"] = kept


def prepare_pod_spec(spec, hosts_file, secrets):
    spec = json.loads(json.dumps(spec))
    drop_absent_optional_secrets(spec, secrets)
    if spec.get("hostNetwork"):
        # On a host-network pod Kubernetes takes containerPort as information only; podman 4.3
        # turns it into a port mapping and refuses the pod ("PortMappings can only be used with
        # Bridge or slirp4netns networking"). The ports go, the probes name theirs by number.
        for container in spec["containers"]:
            ports = container.pop("ports", [])
            named = {p["name"]: p["containerPort"] for p in ports if "name" in p}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                for action in ("httpGet", "tcpSocket", "grpc"):
                    target = (container.get(probe) or {}).get(action)
                    if target and "port" in target:
                        target["port"] = numbered(target["port"], named)
    spec.setdefault("volumes", []).append(
        {"name": "hosts", "hostPath": {"path": hosts_file, "type": "File"}})
    for container in spec["containers"]:
        container["image"] = local_image(container["image"])
        container.setdefault("volumeMounts", []).append(
            {"name": "hosts", "mountPath": "/etc/hosts", "readOnly": True})
    return spec


def main():
    rendered, out = sys.argv[1], sys.argv[2]
    objects = [o for o in yaml.safe_load_all(open(rendered)) if o]
    os.makedirs(os.path.join(out, "secrets"), exist_ok=True)
    hosts_file = os.path.abspath(os.path.join(out, "hosts"))

    aliases = {}
    for o in objects:
        if o["kind"] in ("Deployment", "Job"):
            for alias in o["spec"]["template"]["spec"].get("hostAliases", []):
                aliases.setdefault(alias["ip"], [])
                for name in alias["hostnames"]:
                    if name not in aliases[alias["ip"]]:
                        aliases[alias["ip"]].append(name)
    with open(hosts_file, "w") as f:
        f.write("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
        for ip, names in aliases.items():
            f.write(f"{ip}\t{' '.join(names)}\n")
    os.chmod(hosts_file, 0o644)

    secrets = {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"}
    skipped = []
    for o in objects:
        kind, name = o["kind"], o["metadata"]["name"]
        if kind == "Secret":
            data = {k: v for k, v in (o.get("data") or {}).items()}
            for k, v in (o.get("stringData") or {}).items():
                data[k] = base64.b64encode(v.encode()).decode()
            with open(os.path.join(out, "secrets", name), "w") as f:
                json.dump(data, f)
        elif kind == "Deployment":
            spec = o["spec"]["template"]["spec"]
            deployment = json.loads(json.dumps(o))
            deployment["spec"]["replicas"] = 1
            deployment["spec"]["template"]["spec"] = prepare_pod_spec(spec, hosts_file, secrets)
            docs = played_config_maps(objects, spec) + [deployment]
            with open(os.path.join(out, f"{name}.yaml"), "w") as f:
                yaml.safe_dump_all(docs, f, sort_keys=False)
        elif kind == "Job":
            template = o["spec"]["template"]
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "labels": template["metadata"].get("labels", {})},
                "spec": prepare_pod_spec(template["spec"], hosts_file, secrets),
            }
            # The Job retries a failed run; scripts/deploy-test waits for the one run to exit 0.
            pod["spec"]["restartPolicy"] = "Never"
            docs = played_config_maps(objects, template["spec"]) + [pod]
            with open(os.path.join(out, f"{name}.yaml"), "w") as f:
                yaml.safe_dump_all(docs, f, sort_keys=False)
        elif kind == "ConfigMap":
            if not any(
                    c["metadata"]["name"] == name for w in objects
                    if w["kind"] in ("Deployment", "Job")
                    for c in played_config_maps(objects, w["spec"]["template"]["spec"])):
                skipped.append(f"{kind}/{name}: read by no played pod (Prometheus's)")
        else:
            skipped.append(f"{kind}/{name}: {NOT_PLAYED.get(kind, 'not a kind kube play runs')}")
    with open(os.path.join(out, "skipped.txt"), "w") as f:
        f.write("\n".join(skipped) + "\n")


if __name__ == "__main__":
    main()
