"""Plan → the exact commands that build the lab (and the argv of the in-pod programs). Pure.

The commands are the prototype's (the prototype's notes), batched
with ``ip -batch -`` (one ``ip`` process per namespace and phase):

1. ``ip netns add`` for every namespace, one at a time (``netns_add``): it fails
   on a name that exists, and the lab records each namespace it made.
2. sysctls, set explicitly in each namespace because "net.ipv4.ip_forward is 0 in
   every new namespace", "rp_filter was 0 in new namespaces here" but is copied
   from the host's, and "lo is down in every new netns". Nodes: forwarding on,
   strict rp_filter ("anti-spoofing for IP-keyed dispatch"), no ICMP redirects;
   everywhere: IPv6 off, unless the lab is dual stack: then IPv6 forwarding on
   nodes, no router advertisements anywhere, and addresses without duplicate
   address detection (``nodad``: usable at once). IPv6 has no rp_filter; the
   nodes' kube-proxy table drops packets whose source address is not routed
   back through the interface they came in on (``fib saddr . iif oif missing``).
3. veths, each created inside a node and its peer moved straight into the other
   namespace: "nothing appears in the root namespace".
4. addresses and routes in each namespace (no default route anywhere).
5. the kube-proxy table in each node (``nft -f -``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netfence.lab.plan import LabPlan, NodePlan, PodPlan, ServerKind, ServerSpec

NODE_SYSCTLS = (
    "net.ipv4.ip_forward=1",
    "net.ipv4.conf.all.rp_filter=1",
    "net.ipv4.conf.default.rp_filter=1",
    "net.ipv4.conf.all.send_redirects=0",
    "net.ipv4.conf.default.send_redirects=0",
)
LEAF_SYSCTLS = ("net.ipv4.ip_forward=0",)
NO_IPV6 = ("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
IPV6 = (
    "net.ipv6.conf.all.disable_ipv6=0",
    "net.ipv6.conf.default.disable_ipv6=0",
    "net.ipv6.conf.all.accept_ra=0",
    "net.ipv6.conf.default.accept_ra=0",
    "net.ipv6.conf.all.accept_dad=0",
    "net.ipv6.conf.default.accept_dad=0",
)
NODE_SYSCTLS_6 = ("net.ipv6.conf.all.forwarding=1",)
POD_IF = "eth0"


@dataclass(frozen=True, slots=True)
class Command:
    argv: tuple[str, ...]
    stdin: str | None = None

    def format(self) -> str:
        text = " ".join(self.argv)
        return text if self.stdin is None else f"{text} <<EOF\n{self.stdin.rstrip()}\nEOF"


def netns_add(name: str) -> Command:
    """One namespace per command: it fails if the name exists (never adopt one), and
    the lab records each namespace it made."""
    return Command(("ip", "netns", "add", name))


def build_commands(plan: LabPlan) -> tuple[Command, ...]:
    """Every command of ``lab up`` after the namespaces exist, before the servers
    start, in order."""
    return (
        *_sysctls(plan),
        *(_batch(n.netns, _node_links(plan, i)) for i, n in enumerate(plan.nodes)),
        *(_batch(n.netns, _node_addresses(plan, n)) for n in plan.nodes),
        *(_batch(p.netns, _pod_addresses(plan, p)) for p in plan.pods),
        _batch(plan.external.netns, _external_addresses(plan)),
        *(nft_load(n.netns, plan.kube_proxy) for n in plan.nodes),
    )


def delete_commands(names: Sequence[str]) -> tuple[Command, ...]:
    """``ip -force -batch``: go on past a namespace that is already gone."""
    if not names:
        return ()
    lines = [f"netns del {name}" for name in names]
    return (Command(("ip", "-force", "-batch", "-"), "\n".join(lines) + "\n"),)


def nft_load(netns: str, ruleset: str) -> Command:
    return Command(("ip", "netns", "exec", netns, "nft", "-f", "-"), ruleset)


def in_netns(netns: str, argv: Sequence[str], resolv: str | None = None) -> tuple[str, ...]:
    """argv run inside ``netns``, with ``resolv`` bind-mounted over /etc/resolv.conf in a
    private mount namespace (prototype notes: never write under /etc)."""
    if resolv is None:
        return ("ip", "netns", "exec", netns, *argv)
    script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
    return ("ip", "netns", "exec", netns, "unshare", "-m", "sh", "-c", script, resolv, *argv)


def server_argv(
    python: str,
    lab_id: str,
    name: str,
    servers: Sequence[ServerSpec],
    ready: str,
    records: str | None,
    ipv6: bool = False,
) -> tuple[str, ...]:
    """``python -m netfence.lab.servers``; ``--lab`` marks the process as this lab's."""
    argv = [python, "-m", "netfence.lab.servers", "--lab", lab_id, "--name", name]
    argv += ["--ready", ready, *(["--ipv6"] if ipv6 else [])]
    if records and any(s.kind is ServerKind.DNS for s in servers):
        argv += ["--records", records]
    return (*argv, *(s.format() for s in servers))


# --- phases --------------------------------------------------------------------------------


def _batch(netns: str | None, lines: Sequence[str]) -> Command:
    argv = ("ip", "-batch", "-") if netns is None else ("ip", "-n", netns, "-batch", "-")
    return Command(argv, "\n".join(lines) + "\n")


def _sysctls(plan: LabPlan) -> list[Command]:
    def sysctl(netns: str, settings: Sequence[str]) -> Command:
        return Command(("ip", "netns", "exec", netns, "sysctl", "-qw", *settings))

    node6, leaf6 = ((*IPV6, *NODE_SYSCTLS_6), IPV6) if plan.dual_stack else (NO_IPV6, NO_IPV6)
    commands = [sysctl(n.netns, (*NODE_SYSCTLS, *node6)) for n in plan.nodes]
    leaves = [*(p.netns for p in plan.pods), plan.external.netns]
    return commands + [sysctl(name, (*LEAF_SYSCTLS, *leaf6)) for name in leaves]


def _node_links(plan: LabPlan, index: int) -> list[str]:
    """Pod veths, the external link, and links to the nodes after this one (the other
    node creates its links to this one's successors)."""
    node = plan.nodes[index]
    lines = ["link set lo up"]
    lines += [_veth(p.host_if, p.netns, POD_IF) for p in plan.pods_on(node.name)]
    if plan.external.node == node.name:
        lines.append(_veth(plan.external.host_if, plan.external.netns, POD_IF))
    for later in plan.nodes[index + 1 :]:
        mine = next(link for link in node.links if link.peer == later.name)
        theirs = next(link for link in later.links if link.peer == node.name)
        lines.append(_veth(mine.ifname, later.netns, theirs.ifname))
    return lines


def _veth(name: str, peer_netns: str, peer_name: str) -> str:
    return f"link add {name} type veth peer name {peer_name} netns {peer_netns}"


def _node_addresses(plan: LabPlan, node: NodePlan) -> list[str]:
    """Its address /32 on every pod veth and node link; /32 routes to local pods;
    remote pods via the peer node; the external network, connected or via its node."""
    lines = []
    for pod in plan.pods_on(node.name):
        lines += _up(pod.host_if, f"{node.address}/32")
        lines.append(f"route add {pod.ip}/32 dev {pod.host_if} scope link")
    for link in node.links:
        lines += _up(link.ifname, f"{node.address}/32")
        lines.append(f"route add {link.peer_address}/32 dev {link.ifname} scope link")
        lines += [
            f"route add {pod.ip}/32 via {link.peer_address} dev {link.ifname}"
            for pod in plan.pods_on(link.peer)
        ]
    ext = plan.external
    if ext.node == node.name:
        prefix = ext.network.split("/")[1]
        lines += _up(ext.host_if, f"{ext.gateway}/{prefix}")
    else:
        via = next(link for link in node.links if link.peer == ext.node)
        lines.append(f"route add {ext.network} via {via.peer_address} dev {via.ifname}")
    return lines + _node_addresses6(plan, node)


def _node_addresses6(plan: LabPlan, node: NodePlan) -> list[str]:
    """The same in IPv6, for a dual-stack lab."""
    if node.address6 is None:
        return []
    lines = []
    for pod in plan.pods_on(node.name):
        lines.append(f"addr add {node.address6}/128 dev {pod.host_if} nodad")
        if pod.ip6:
            lines.append(f"route add {pod.ip6}/128 dev {pod.host_if}")
    for link in node.links:
        lines.append(f"addr add {node.address6}/128 dev {link.ifname} nodad")
        lines.append(f"route add {link.peer_address6}/128 dev {link.ifname}")
        lines += [
            f"route add {pod.ip6}/128 via {link.peer_address6} dev {link.ifname}"
            for pod in plan.pods_on(link.peer)
            if pod.ip6
        ]
    ext = plan.external
    if ext.node == node.name:
        lines.append(f"addr add {ext.gateway6}/{_length(ext.network6)} dev {ext.host_if} nodad")
    else:
        via = next(link for link in node.links if link.peer == ext.node)
        lines.append(f"route add {ext.network6} via {via.peer_address6} dev {via.ifname}")
    return lines


def _pod_addresses(plan: LabPlan, pod: PodPlan) -> list[str]:
    node = plan.node(pod.node)
    assert node is not None  # make_plan places every pod on one of its nodes
    lines = ["link set lo up", *_up(POD_IF, f"{pod.ip}/32")]
    lines.append(f"route add {node.address} dev {POD_IF} scope link")
    lines += [f"route add {prefix} via {node.address} dev {POD_IF}" for prefix in plan.routed]
    if node.address6 is not None:
        if pod.ip6:
            lines.append(f"addr add {pod.ip6}/128 dev {POD_IF} nodad")
        lines.append(f"route add {node.address6} dev {POD_IF}")
        lines += [f"route add {p} via {node.address6} dev {POD_IF}" for p in plan.routed6]
    return lines


def _external_addresses(plan: LabPlan) -> list[str]:
    ext = plan.external
    lines = ["link set lo up", *_up(POD_IF, f"{ext.address}/{ext.network.split('/')[1]}")]
    others = [prefix for prefix in plan.routed if prefix != ext.network]
    lines += [f"route add {prefix} via {ext.gateway} dev {POD_IF}" for prefix in others]
    if ext.address6 is not None:
        lines.append(f"addr add {ext.address6}/{_length(ext.network6)} dev {POD_IF} nodad")
        others6 = [prefix for prefix in plan.routed6 if prefix != ext.network6]
        lines += [f"route add {prefix} via {ext.gateway6} dev {POD_IF}" for prefix in others6]
    return lines


def _length(network: str | None) -> str:
    """The prefix length of a network written ``address/length``."""
    assert network is not None
    return network.split("/")[1]


def _up(ifname: str, address: str) -> list[str]:
    return [f"addr add {address} dev {ifname}", f"link set {ifname} up"]
