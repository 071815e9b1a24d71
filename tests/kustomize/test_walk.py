"""The kustomize walk: bounds, the load restrictor through symbolic links,
remote references, and the patch functions on their own."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from netfence.errors import InvalidInputError
from netfence.io import manifests
from netfence.io.manifests import load_manifests
from netfence.parse.kustomize_patch import (
    DELETE,
    PatchError,
    Target,
    json_patch,
    selector_matches,
    strategic_merge,
)


def errors(directory: Path) -> list[str]:
    with pytest.raises(InvalidInputError) as info:
        load_manifests([], [str(directory)])
    return [d.format() for d in info.value.diagnostics]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_diamonds_that_multiply_are_bounded_by_the_file_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 5 levels of 4 overlays (distinct prefixes) over the next level: 4^5 builds
    # of the last one. kustomize would build them all; netfence stops at
    # MAX_FILES reads (docs/limits.md), here lowered to keep the test fast.
    monkeypatch.setattr(manifests, "MAX_FILES", 500)
    levels = 5
    for level in range(levels):
        overlays = [f"o{j}" for j in range(4)]
        write(tmp_path, {f"l{level}/kustomization.yaml": f"resources: {overlays}\n"})
        for name in overlays:
            write(
                tmp_path,
                {
                    f"l{level}/{name}/kustomization.yaml": (
                        f"namePrefix: {name}-\nresources: [../../l{level + 1}]\n"
                    )
                },
            )
    write(
        tmp_path,
        {
            f"l{levels}/kustomization.yaml": "resources: [pod.yaml]\n",
            f"l{levels}/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
        },
    )
    (message,) = errors(tmp_path / "l0")
    assert "more than 500 manifest files in one command (docs/limits.md)" in message


def test_a_symbolic_link_out_of_the_root_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "outside.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
            "app/kustomization.yaml": "resources: [link.yaml, inside.yaml]\n",
            "app/real.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: q}\n",
        },
    )
    os.symlink(tmp_path / "outside.yaml", tmp_path / "app" / "link.yaml")
    os.symlink("real.yaml", tmp_path / "app" / "inside.yaml")
    (message,) = errors(tmp_path / "app")
    assert message.startswith(f"{tmp_path}/app/kustomization.yaml: doc 1: resources[0]: link.yaml")
    assert (
        f"security: file '{tmp_path}/outside.yaml' is not in or below '{tmp_path}/app'" in message
    )


def test_a_link_inside_the_root_and_legacy_bases_are_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [inside.yaml]\n",
            "base/real.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: q}\n",
            "app/kustomization.yaml": "bases: [../base]\nnamespace: shop\n",
        },
    )
    os.symlink("real.yaml", tmp_path / "base" / "inside.yaml")
    built = load_manifests([], [str(tmp_path / "app")])
    assert [d.obj["metadata"] for d in built.documents] == [{"name": "q", "namespace": "shop"}]


def test_remote_components_and_patches_have_the_remote_message(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "kustomization.yaml": (
                "patches:\n- path: https://example.com/p.yaml\n  target: {kind: Pod}\n"
                "components: [github.com/org/repo//c?ref=v1]\n"
            )
        },
    )
    (message,) = errors(tmp_path)
    assert "components: github.com/org/repo//c?ref=v1: remote resources are not supported" in (
        message
    )


def test_a_broken_inline_patch_is_located(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "kustomization.yaml": "patches:\n- patch: 'a: [b'\n  target: {kind: Pod}\n",
        },
    )
    (message,) = errors(tmp_path)
    assert message.startswith(f"{tmp_path}/kustomization.yaml: doc 1:")
    assert "invalid YAML" in message


def test_the_online_boutique_without_loadgenerator_component_deletes_it(tmp_path: Path) -> None:
    # upstream's components/without-loadgenerator: a $patch: delete patch file
    fixture = Path(__file__).parent.parent / "fixtures" / "online-boutique"
    write(
        tmp_path,
        {
            "kustomization.yaml": ("resources: [base]\ncomponents: [c]\n"),
            "c/kustomization.yaml": (
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                "patches:\n- path: delete.yaml\n"
            ),
            "c/delete.yaml": (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: loadgenerator\n"
                "$patch: delete\n"
            ),
        },
    )
    os.symlink(fixture / "base", tmp_path / "base")
    names = {d.obj["metadata"]["name"] for d in load_manifests([], [str(tmp_path)]).documents}
    assert "frontend" in names and "loadgenerator" in names  # its ServiceAccount stays
    kinds = {
        (d.kind, d.obj["metadata"]["name"]) for d in load_manifests([], [str(tmp_path)]).documents
    }
    assert ("Deployment", "loadgenerator") not in kinds
    assert ("ServiceAccount", "loadgenerator") in kinds


# --- the patch functions --------------------------------------------------------

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "labels": {"app": "a", "tier": "web"}},
    "spec": {
        "containers": [
            {"name": "c", "image": "x", "ports": [{"containerPort": 80}], "args": ["1", "2"]}
        ]
    },
}


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        # a mapping replaced whole
        (
            {"metadata": {"labels": {"$patch": "replace", "only": "this"}}},
            {**POD, "metadata": {"name": "p", "labels": {"only": "this"}}},
        ),
        # a list item deleted by its merge key
        (
            {"spec": {"containers": [{"name": "c", "$patch": "delete"}]}},
            {**POD, "spec": {"containers": []}},
        ),
        # a field deleted
        (
            {"metadata": {"labels": {"$patch": "delete"}}},
            {**POD, "metadata": {"name": "p"}},
        ),
        # values taken out of a list of scalars
        (
            {"spec": {"containers": [{"name": "c", "$deleteFromPrimitiveList/args": ["1"]}]}},
            {
                **POD,
                "spec": {
                    "containers": [
                        {"name": "c", "image": "x", "ports": [{"containerPort": 80}], "args": ["2"]}
                    ]
                },
            },
        ),
        # only the listed keys kept
        (
            {"metadata": {"$retainKeys": ["name"], "name": "p"}},
            {**POD, "metadata": {"name": "p"}},
        ),
    ],
)
def test_strategic_merge_directives(patch: dict[str, Any], expected: dict[str, Any]) -> None:
    assert strategic_merge(POD, patch) == expected


def test_strategic_merge_deletes_the_object() -> None:
    assert strategic_merge(POD, {"$patch": "delete"}) is DELETE


@pytest.mark.parametrize(
    ("operations", "message"),
    [
        ([{"op": "remove", "path": "/spec/nothing"}], "[0]: /spec/nothing: no such field"),
        (
            [{"op": "add", "path": "/spec/containers/5", "value": {}}],
            "[0]: index 5 is out of range",
        ),
        ([{"op": "replace", "path": "/a/b", "value": 1}], "[0]: /a: no such field"),
        ([{"op": "jump", "path": "/a"}], "[0]: op: Unsupported value: 'jump'"),
        ([{"op": "add", "path": "spec"}], "[0]: path: 'spec' is not a JSON pointer"),
        ([{"op": "add", "path": "/x"}], "[0]: value: Required value"),
        (
            [{"op": "add", "path": "/x", "value": 1}, {"op": "test", "path": "/x", "value": 2}],
            "[1]: test failed at /x",
        ),
    ],
)
def test_json_patch_failures_say_which_operation(operations: list[Any], message: str) -> None:
    with pytest.raises(PatchError) as info:
        json_patch(POD, operations)
    assert str(info.value).startswith(message)


def test_json_patch_pointer_escapes_and_append() -> None:
    patched = json_patch(
        POD,
        [
            {"op": "add", "path": "/metadata/labels/a~1b~0c", "value": "v"},
            {"op": "add", "path": "/spec/containers/0/args/-", "value": "3"},
            {"op": "move", "from": "/metadata/labels/tier", "path": "/metadata/labels/role"},
            {"op": "copy", "from": "/metadata/name", "path": "/metadata/labels/name"},
        ],
    )
    assert patched["metadata"]["labels"] == {"app": "a", "a/b~c": "v", "role": "web", "name": "p"}
    assert patched["spec"]["containers"][0]["args"] == ["1", "2", "3"]
    assert POD["metadata"]["labels"] == {"app": "a", "tier": "web"}  # the original is intact


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("app=a", True),
        ("app==a,tier=web", True),
        ("app!=a", False),
        ("app in (a, b)", True),
        ("tier notin (web)", False),
        ("app", True),
        ("!app", False),
        ("!missing,app", True),
        ("missing=", False),
    ],
)
def test_text_label_selectors(selector: str, matches: bool) -> None:
    assert selector_matches(selector, POD["metadata"]["labels"]) is matches


def test_target_names_are_whole_string_regular_expressions() -> None:
    assert Target(name="p").selects(POD)
    assert not Target(name="p.+").selects(POD)
    assert Target(kind="Po.", version="v1", group="").selects(POD)
    assert not Target(namespace="kube-.*").selects(POD)
    assert Target(label_selector="app=a").selects(POD)


def test_a_target_regular_expression_that_may_backtrack_forever_is_refused(
    tmp_path: Path,
) -> None:
    # against a 40-character name, (a+)+b takes Python's matcher hours
    write(
        tmp_path,
        {
            "kustomization.yaml": (
                "resources: [pod.yaml]\npatches:\n- target: {name: '(a+)+b'}\n  patch: '[]'\n"
            ),
            "pod.yaml": f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {'a' * 40}}}\n",
        },
    )
    (message,) = errors(tmp_path)
    assert message == (
        f"{tmp_path}/kustomization.yaml: doc 1: patches[0].target.name: invalid: '(a+)+b': a "
        "repeated group that itself repeats (such as (a+)+) may take exponential time to "
        "match; write it without nesting"
    )


def test_patch_options_that_are_not_applied_make_the_input_partial(tmp_path: Path) -> None:
    """allowNameChange is read, not applied: the build goes on, and the answer says so."""
    from netfence.io.cluster import load_cluster

    (tmp_path / "kustomization.yaml").write_text(
        "resources: [np.yaml]\n"
        "patches:\n"
        "- target: {kind: NetworkPolicy, name: np}\n"
        "  options: {allowNameChange: true}\n"
        '  patch: "[{op: add, path: /metadata/labels, value: {a: b}}]"\n'
    )
    (tmp_path / "np.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: np, namespace: a}\nspec: {podSelector: {}}\n"
    )
    built = load_cluster([], [str(tmp_path)])
    assert [p.name for p in built.cluster.policies] == ["np"]
    assert [n.field for n in built.completeness.not_applied] == [
        "patches[0].options.allowNameChange"
    ]
