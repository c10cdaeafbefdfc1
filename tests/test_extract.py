"""Extraction from real code: the seed patch's three paths equal the hand-written models; fixtures
in the project's own words for Xen, Gunyah, KVM and an assembly sequence extract and verify."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbmcheck.cli import main
from bbmcheck.errors import InputError
from bbmcheck.extract.extract import extract
from bbmcheck.results import Verdict
from bbmcheck.sequences.edit import instr_text
from bbmcheck.sequences.load import load_model
from bbmcheck.verify import verify

HERE = Path(__file__).parent / "fixtures" / "code"
SEED_PATH = Path(__file__).resolve().parent.parent.parent / "shared" / "seed" / "ttrem-coalesce-rfc-patch.txt"


def seed_patch() -> str:
    if SEED_PATH.is_file():
        return str(SEED_PATH)
    pytest.skip("the seed patch (../shared/seed) is not beside this checkout")


def signature(result):
    return {f.property: (f.verdict, f.violated_on, f.persisting_on) for f in result.findings}


def test_seed_patch_extracts_into_the_three_hand_written_models():
    scenario = str(HERE / "ttrem-coalesce.scenario.toml")
    models, notes = extract(seed_patch(), "stage2_coalesce_tables_into_block", scenario)
    assert [m.name for m in models] == ["ttrem0", "ttrem1", "ttrem2"]
    assert [m.path for m in models] == ["ttrem_level=TTREM_LEVEL0", "ttrem_level=TTREM_LEVEL1",
                                        "ttrem_level=TTREM_LEVEL2"]
    assert [m.label for m in models] == ["p1", "p2", "p3"]
    assert notes == ["path p4 [ttrem_level=other] makes no page-table update; no model"]
    for m in models:
        hand = load_model(m.name)
        assert [instr_text(i) for i in m.sequence.program] == [instr_text(i) for i in hand.program]
        assert m.sequence.level is hand.level
        assert signature(verify(m.sequence)) == signature(verify(hand))
    first = models[1].sequence.program[0]
    assert first.line == 74 and Path(models[1].sequence.path).name == "ttrem-coalesce-rfc-patch.txt"


FIXTURES = [
    ("xen_p2m_replace.c", "p2m_replace_entry", "xen-arm", ["xen-p2m-replace"], {"invalid-window"}),
    ("gunyah_merge_l1.c", "pgtable_merge_block_l1", "gunyah", ["gunyah-merge-l1"], {"invalid-window", "tlb-conflict"}),
    ("kvm_replace_leaf.c", "stage2_split_leaf", "linux-kvm-arm64", ["kvm-split-leaf"], {"invalid-window"}),
    ("s2_bbm_block.S", "s2_bbm_block", "linux-kvm-arm64", ["asm-bbm-split"], {"invalid-window"}),
    # the break is a call in an if condition (issue 15): dropping it made this a bbm-required violation
    ("kvm_split_locked.c", "stage2_split_locked", "linux-kvm-arm64", ["kvm-split-locked"], {"invalid-window"}),
    # the break and the make are static helpers of the same file, inlined (issue 15)
    ("kvm_split_helpers.c", "stage2_split_helpers", "linux-kvm-arm64", ["kvm-split-helpers"], {"invalid-window"}),
]


@pytest.mark.parametrize(("code", "function", "prims", "names", "violated"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_fixture_extracts_and_verifies(code, function, prims, names, violated):
    scenario = HERE / (Path(code).stem + ".scenario.toml")
    models, _ = extract(str(HERE / code), function, str(scenario), primitives=prims, strict=True)
    assert [m.name for m in models] == names
    result = verify(models[0].sequence)
    assert {f.property for f in result.findings if f.verdict is Verdict.VIOLATED} == violated
    assert result.complete and not result.vacuous


def test_cli_extract_writes_models_and_never_clobbers(tmp_path, capsys):
    args = ["extract", seed_patch(), "--function", "stage2_coalesce_tables_into_block",
            "--scenario", str(HERE / "ttrem-coalesce.scenario.toml"), "-o", str(tmp_path)]
    assert main(args) == 0
    written = sorted(p.name for p in tmp_path.glob("*.toml"))
    assert written == ["ttrem0.toml", "ttrem1.toml", "ttrem2.toml"]
    assert main(["verify", str(tmp_path / "ttrem1.toml"), "--no-traces"]) == 1
    assert main(args) == 0  # its own files may be replaced
    (tmp_path / "ttrem0.toml").write_text("mine\n")
    capsys.readouterr()
    assert main(args) == 2
    assert "not overwriting" in capsys.readouterr().err
    assert (tmp_path / "ttrem0.toml").read_text() == "mine\n"


def test_cli_verify_from_code(capsys):
    code = main(["verify", "--from-code", seed_patch(), "--function", "stage2_coalesce_tables_into_block",
                 "--scenario", str(HERE / "ttrem-coalesce.scenario.toml"), "--no-traces"])
    out = capsys.readouterr().out
    assert code == 1 and out.count("bbmcheck 0.1.0: ttrem") == 3


def one_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_bad_input(tmp_path, capsys):
    scen = str(HERE / "ttrem-coalesce.scenario.toml")
    err = one_error(capsys, ["extract", seed_patch(), "--function", "no_such_fn", "--scenario", scen])
    assert ": error: no function 'no_such_fn'" in err
    asm = str(HERE / "s2_bbm_block.S")  # assembly has no default scenario: registers name nothing
    err = one_error(capsys, ["extract", asm, "--function", "s2_bbm_block"])
    assert err.startswith(f"{asm}:1:1: error: assembly needs --scenario FILE")
    broken = tmp_path / "broken.c"
    broken.write_text("static void f(int *p)\n{\n    WRITE_ONCE(*p, ;\n}\n")
    err = one_error(capsys, ["extract", str(broken), "--function", "f", "--scenario", scen])
    assert err.startswith(f"{broken}:3:") and "cannot parse" in err
    unknown = tmp_path / "unknown.c"
    unknown.write_text("static void f(kvm_pte_t *ptep, kvm_pte_t new)\n{\n    my_flush();\n"
                       "    WRITE_ONCE(*ptep, new);\n}\n")
    err = one_error(capsys, ["extract", str(unknown), "--function", "f", "--scenario", scen, "--strict"])
    assert err.startswith(f"{unknown}:3:5: error: unknown call 'my_flush'")
    assert main(["extract", str(unknown), "--function", "f", "--scenario", scen]) == 0
    assert f"{unknown}:3:5: warning: unknown call 'my_flush'" in capsys.readouterr().err
    nomeaning = tmp_path / "nomeaning.c"
    nomeaning.write_text("static void f(kvm_pte_t *q, kvm_pte_t new)\n{\n    WRITE_ONCE(*q, new);\n}\n")
    err = one_error(capsys, ["extract", str(nomeaning), "--function", "f", "--scenario", scen])
    assert err.startswith(f"{nomeaning}:3:16: error: '*q' has no meaning in scenario")
    with pytest.raises(InputError, match="no path leaves this for loop") as e:  # never ends (issue 15)
        loop = tmp_path / "loop.c"
        loop.write_text("static void f(kvm_pte_t *ptep)\n{\n    for (;;) { isb(); }\n}\n")
        extract(str(loop), "f", scen)
    assert (e.value.line, e.value.col) == (3, 5)
    with pytest.raises(InputError, match="goto again: the label is not later") as e:
        jump = tmp_path / "jump.c"
        jump.write_text("static void f(kvm_pte_t *ptep)\n{\nagain:\n    isb();\n    goto again;\n}\n")
        extract(str(jump), "f", scen)
    assert (e.value.line, e.value.col) == (5, 5)


def test_bad_scenario_and_primitive_map(tmp_path, capsys):
    code = str(HERE / "kvm_replace_leaf.c")
    scen = tmp_path / "s.toml"
    scen.write_text('base = "split-bbm"\n\n[bitz]\nX = "nT"\n')
    err = one_error(capsys, ["extract", code, "--function", "stage2_split_leaf", "--scenario", str(scen)])
    assert err.startswith(f"{scen}:3:2: error: unknown key 'bitz'") and "did you mean 'bits'" in err
    scen.write_text('base = "split-bbm"\n[bits]\nX = "dirty"\n')
    err = one_error(capsys, ["extract", code, "--function", "stage2_split_leaf", "--scenario", str(scen)])
    assert err.startswith(f"{scen}:3:5: error: bit 'dirty' is not modelled")
    prims = tmp_path / "p.toml"
    prims.write_text('[primitives]\nfoo = ["str {entri:0}, {desc:1}"]\n')
    err = one_error(capsys, ["extract", code, "--function", "stage2_split_leaf", "--primitives", str(prims),
                             "--scenario", str(HERE / "kvm_replace_leaf.scenario.toml")])
    assert err.startswith(f"{prims}:2:13: error: unknown placeholder {{entri:0}}")


def test_cli_extract_file_names_are_safe_bounded_and_headers_exact(tmp_path, capsys):
    """extract -o names each model file with paths.safe_name (inside the folder, bounded, unique),
    and replaces only a file that begins with its exact header line."""
    from bbmcheck.cli import EXTRACT_MARKER
    from bbmcheck.paths import MAX_NAME

    args = ["extract", seed_patch(), "--function", "stage2_coalesce_tables_into_block",
            "--scenario", str(HERE / "ttrem-coalesce.scenario.toml"), "-o", str(tmp_path)]
    assert main(args) == 0
    for p in tmp_path.glob("*.toml"):
        assert p.parent == tmp_path and len(p.stem) <= MAX_NAME
        assert p.read_text().startswith(EXTRACT_MARKER + "\n")
    # a user's note that merely mentions the marker is not bbmcheck's file
    (tmp_path / "ttrem1.toml").write_text(f"my notes: {EXTRACT_MARKER} wrote this once\n")
    capsys.readouterr()
    assert main(args) == 2
    assert (tmp_path / "ttrem1.toml").read_text().startswith("my notes")


def _paths_of(tmp_path, body: str, helpers: str = "", known=None) -> list[tuple[tuple[str, ...], list[str]]]:
    """Each path's conditions and calls (with the value a branch gave each, where it did)."""
    from bbmcheck.extract.c_paths import function_paths
    from bbmcheck.extract.source import read_source

    code = tmp_path / "f.c"
    code.write_text(helpers + "int f(void)\n{\n" + body + "}\n")
    mark = {True: "+", False: "-", None: ""}
    return [(p.conds, [c.name + mark[c.outcome] + ("(" + ", ".join(c.args) + ")" if c.args else "")
                       for c in p.calls])
            for p in function_paths(read_source(str(code)), "f", known)]


def test_same_file_helpers_are_inlined_with_their_arguments_and_return_values(tmp_path):
    """A static helper's paths join the caller's, its parameters replaced by the arguments; in a
    condition, a helper path that returns a constant goes to that branch, one that returns a
    variable to both; a recursive helper is not inlined into itself; the map's meaning wins."""
    helpers = ("static bool brk(int *q, int v)\n{\n    if (!cas(q, v))\n        return false;\n"
               "    flush(q);\n    return true;\n}\n"
               "static int any(int *q)\n{\n    int r = probe(q);\n    return r;\n}\n"
               "static void loop(int *q)\n{\n    loop(q);\n}\n")
    got = _paths_of(tmp_path, "    if (!brk(p->e, NEW))\n        return -1;\n    done(p->e);\n    return 0;\n", helpers,
                    known=lambda n: False)
    assert [cs for _, cs in got] == [["cas-(p->e, NEW)"], ["cas+(p->e, NEW)", "flush(p->e)", "done(p->e)"]]
    assert got[1][0] == ("brk: cas(q, v)", "brk(p->e, NEW)")
    got = _paths_of(tmp_path, "    if (any(x))\n        yes();\n", helpers, known=lambda n: False)
    assert [cs for _, cs in got] == [["probe(x)", "yes"], ["probe(x)"]]
    got = _paths_of(tmp_path, "    loop(x);\n", helpers, known=lambda n: False)
    assert [cs for _, cs in got] == [["loop(x)"]]  # loop's own call to loop stays a call
    got = _paths_of(tmp_path, "    brk(x, 1);\n", helpers, known=lambda n: n == "brk")
    assert [cs for _, cs in got] == [["brk(x, 1)"]]
    # a helper the front end cannot walk (a loop) stays a call, as a function of another file would
    looping = "static void fill(int *q)\n{\n    for (;;)\n        put(q);\n}\n"
    got = _paths_of(tmp_path, "    fill(x);\n", looping, known=lambda n: False)
    assert [cs for _, cs in got] == [["fill(x)"]]


def _names(got):
    return [(conds, [c.split("(")[0] for c in cs]) for conds, cs in got]


def test_calls_in_conditions_are_made_in_order_and_short_circuit(tmp_path):
    """``a() && b()`` calls b only where a returned true; ``||`` only where false; every call in an
    if, a return, a switch or an expression statement is on the paths that make it."""
    got = _names(_paths_of(tmp_path, "    if (a(x) && b(y))\n        c(z);\n    return d(w) || e(v);\n"))
    calls = sorted(tuple(cs) for _, cs in got)
    assert calls == sorted([
        ("a+", "b+", "c", "d+"), ("a+", "b+", "c", "d-", "e+"), ("a+", "b+", "c", "d-", "e-"),
        ("a-", "d+"), ("a-", "d-", "e+"), ("a-", "d-", "e-"),
        ("a+", "b-", "d+"), ("a+", "b-", "d-", "e+"), ("a+", "b-", "d-", "e-"),
    ])
    assert ("a(x)", "b(y)") in [conds[:2] for conds, _ in got]
    assert ("!(a(x))",) in [conds[:1] for conds, _ in got]
    got = _names(_paths_of(tmp_path, "    if (!try(p))\n        return -1;\n    go(p);\n    return 0;\n"))
    assert got == [(("!(try(p))",), ["try-"]), (("try(p)",), ["try+", "go"])]
    got = _names(_paths_of(tmp_path, "    switch (pick(p)) {\n    case 1: one(); break;\n    }\n"))
    assert [cs for _, cs in got] == [["pick", "one"], ["pick"]]
    got = _names(_paths_of(tmp_path, "    int r = ok(p) ? yes(p) : no(p);\n    if (flag)\n        end();\n"))
    assert sorted(tuple(cs) for _, cs in got) == sorted([("ok+", "yes", "end"), ("ok+", "yes"),
                                                         ("ok-", "no", "end"), ("ok-", "no")])
    # a condition without calls is one choice, named as before
    got = _names(_paths_of(tmp_path, "    if (x && y)\n        z();\n"))
    assert got == [(("x && y",), ["z"]), (("!(x && y)",), [])]


def test_a_helper_that_may_fail_does_what_the_map_says_on_the_failing_path(tmp_path):
    """[fails] gives a helper's instructions on a path where its result is false; a [fails] entry
    needs its [primitives] one."""
    code = tmp_path / "cas.c"
    code.write_text("static void f(kvm_pte_t *ptep, kvm_pte_t new)\n{\n    if (!cas(ptep, new))\n"
                    "        WRITE_ONCE(*ptep, new);\n}\n")
    scen = tmp_path / "s.toml"
    scen.write_text('base = "split-bbm"\n[entries]\nptep = "T1[1]"\n[values]\nnew = "table T2"\n')
    prims = tmp_path / "p.toml"
    prims.write_text('[primitives]\ncas = ["str {entry:0}, {desc:1}"]\nWRITE_ONCE = ["str {entry:0}, {desc:1}"]\n'
                     '[fails]\ncas = ["dsb ish"]\n')
    models, notes = extract(str(code), "f", str(scen), primitives=str(prims), strict=True)
    assert {m.path: m.lines for m in models} == {"!(cas(ptep, new))": ("dsb ish", "str T1[1], table T2"),
                                                 "cas(ptep, new)": ("str T1[1], table T2",)}
    prims.write_text('[primitives]\nWRITE_ONCE = ["str {entry:0}, {desc:1}"]\n[fails]\ncas = []\n')
    with pytest.raises(InputError, match=r"\[fails\] 'cas' has no entry in \[primitives\]") as e:
        extract(str(code), "f", str(scen), primitives=str(prims))
    assert (e.value.line, e.value.col) == (4, 1)


def test_paths_whose_choices_contradict_are_dropped_and_only_those(tmp_path):
    """A path is dropped only when its choices about the function's own values contradict (z3);
    a value read through memory is new at every read, and a changed variable is a new value."""
    def count(body: str, pure=lambda n: n == "valid") -> tuple[int, int]:
        from bbmcheck.extract.c_paths import function_paths
        from bbmcheck.extract.source import read_source

        code = tmp_path / "g.c"
        code.write_text("void g(lpae_t orig, bool removing, int x, int *p)\n{\n" + body + "}\n")
        pruned: list[tuple[str, ...]] = []
        paths = function_paths(read_source(str(code)), "g", None, pure, pruned)
        return len(paths), len(pruned)

    # Xen's __p2m_set_entry shape: the first branch says the entry is not valid, the second that it is
    xen = "    if (!(valid(orig) || removing))\n        a();\n    if (valid(orig))\n        b();\n"
    # ``||`` splits the first condition in three; of the six paths, those where valid(orig)
    # changes its value between the two conditions are dropped (or merged first: valid is pure)
    paths, dropped = count(xen)
    assert paths == 3 and dropped >= 1
    assert count(xen, pure=lambda n: False) == (6, 0)  # a call that is not pure may differ each time
    assert count("    if (x == 1)\n        a();\n    if (x == 2)\n        b();\n") == (3, 1)
    assert count("    if (x == 1)\n        a();\n    x = 2;\n    if (x == 1)\n        b();\n") == (4, 0)
    assert count("    if (x)\n        a();\n    x++;\n    if (!x)\n        b();\n") == (4, 0)
    assert count("    if (x)\n        a();\n    set(&x);\n    if (!x)\n        b();\n") == (4, 0)
    assert count("    if (*p)\n        a();\n    if (!*p)\n        b();\n") == (4, 0)  # two reads
    assert count("    if (x)\n        a();\n    { int x = 0;\n    if (!x)\n        b(); }\n") == (4, 0)
    assert count("    if (x && !x)\n        a();\n") == (1, 1)


def test_loops_are_unrolled_to_the_bound_and_say_so(tmp_path):
    """while, for and do: a path leaves after 0..LOOP_BOUND iterations (condition, break, return);
    continue goes on; a path that would iterate again is not followed, and a warning says how many."""
    from bbmcheck.extract.c_paths import LOOP_BOUND, function_paths
    from bbmcheck.extract.source import read_source

    def run(body: str) -> tuple[list[list[str]], list[str]]:
        code = tmp_path / "l.c"
        code.write_text("void l(int n, int *p)\n{\n" + body + "}\n")
        warnings: list[str] = []
        paths = function_paths(read_source(str(code)), "l", None, None, None, lambda e: warnings.append(str(e)))
        return sorted(sorted_calls(p) for p in paths), warnings

    def sorted_calls(p):
        return [c.name for c in p.calls]

    assert LOOP_BOUND == 2
    got, warns = run("    while (more(p)) {\n        step(p);\n    }\n    end(p);\n")
    assert got == [["more", "end"], ["more", "step", "more", "end"], ["more", "step", "more", "step", "more", "end"]]
    assert len(warns) == 1 and "l.c:3:5:" in warns[0] and "while loop unrolled to 2 iterations: 1 path(s)" in warns[0]
    # a condition on a value the loop does not change keeps its value: the loop does not end by it
    got, warns = run("    while (n)\n        step(p);\n    end(p);\n")
    assert got == [["end"]] and len(warns) == 1
    loop = "    for (int i = 0; i < n; i++) {\n        if (bad(p))\n            break;\n        step(p);\n    }\n"
    got, _ = run(loop)
    assert got == [[], ["bad"], ["bad", "step"], ["bad", "step", "bad"], ["bad", "step", "bad", "step"]]
    got, warns = run("    do {\n        step(p);\n    } while (0);\n")
    assert got == [["step"]] and warns == []
    got, _ = run("    while (more(p)) {\n        if (skip(p))\n            continue;\n        step(p);\n    }\n")
    assert ["more", "skip", "more", "skip", "more"] in got and ["more", "skip", "step", "more"] in got
    got, _ = run("    while (more(p)) {\n        switch (n) {\n        case 1: one(p); break;\n        }\n"
                 "        if (done(p))\n            return;\n    }\n")
    assert ["more", "one", "done"] in got  # the switch's break leaves the switch, the return the loop


def test_forward_goto_skips_to_its_label(tmp_path):
    """goto out of nested blocks and loops goes on at the label; the code between is skipped."""
    got = _names(_paths_of(tmp_path, "    if (bad(p))\n        goto out;\n    while (more(p)) {\n"
                                     "        if (stop(p))\n            goto out;\n        step(p);\n    }\n"
                                     "    tail(p);\nout:\n    unlock(p);\n    return 0;\n"))
    calls = sorted(cs for _, cs in got)
    assert ["bad+", "unlock"] in calls
    assert ["bad-", "more+", "stop+", "unlock"] in calls  # out of the loop, past tail
    assert ["bad-", "more-", "tail", "unlock"] in calls
    assert all(cs[-1] == "unlock" for cs in calls) and len(calls) == 6


def test_an_unknown_call_is_reported_once_whatever_the_number_of_paths(tmp_path):
    code = tmp_path / "many.c"
    code.write_text("static void f(kvm_pte_t *ptep, kvm_pte_t new, int a, int b)\n{\n    if (a)\n        isb();\n"
                    "    if (b)\n        isb();\n    my_flush();\n    WRITE_ONCE(*ptep, new);\n}\n")
    scen = tmp_path / "s.toml"
    scen.write_text('base = "split-bbm"\n[entries]\nptep = "T1[1]"\n[values]\nnew = "table T2"\n'
                    '[paths]\n"a, b" = { skip = "not here" }\n')
    said: list[InputError] = []
    models, _ = extract(str(code), "f", str(scen), warn=said.append)
    assert len(models) == 3 and [(e.line, e.col) for e in said] == [(7, 5)]


def _random_function(rng) -> tuple[str, list]:
    """A C body over int parameters x, y, z: ifs (else, &&, ||, !, == constants), assignments and
    marker calls; and the same program as data for a reference interpreter."""
    names = ["x", "y", "z"]
    count = [0]

    def cond(depth: int):
        kind = rng.choice(["var", "not", "eq", "and", "or"] if depth < 2 else ["var", "not", "eq"])
        if kind == "var":
            v = rng.choice(names)
            return v, ("var", v)
        if kind == "not":
            text, tree = cond(depth + 1)
            return f"!({text})", ("not", tree)
        if kind == "eq":
            v, n = rng.choice(names), rng.randint(0, 2)
            return f"{v} == {n}", ("eq", v, n)
        (lt, ltree), (rt, rtree) = cond(depth + 1), cond(depth + 1)
        return f"({lt}) {'&&' if kind == 'and' else '||'} ({rt})", (kind, ltree, rtree)

    def block(depth: int, n: int) -> tuple[list[str], list]:
        lines, prog = [], []
        for _ in range(n):
            kind = rng.choice(["call", "assign", "if", "if"] if depth < 2 else ["call", "assign"])
            if kind == "call":
                count[0] += 1
                lines.append(f"m{count[0]}();")
                prog.append(("call", f"m{count[0]}"))
            elif kind == "assign":
                v, k = rng.choice(names), rng.randint(0, 2)
                lines.append(f"{v} = {k};")
                prog.append(("set", v, k))
            else:
                text, tree = cond(0)
                yes_lines, yes = block(depth + 1, rng.randint(1, 2))
                no_lines, no = block(depth + 1, rng.randint(0, 2))
                lines += [f"if ({text}) {{", *yes_lines, "} else {", *no_lines, "}"]
                prog.append(("if", tree, yes, no))
        return lines, prog

    lines, prog = block(0, rng.randint(2, 5))
    return "\n".join("    " + line for line in lines) + "\n", prog


def _run(prog, env, out):
    def value(tree):
        op = tree[0]
        if op == "var":
            return env[tree[1]] != 0
        if op == "not":
            return not value(tree[1])
        if op == "eq":
            return env[tree[1]] == tree[2]
        return (value(tree[1]) and value(tree[2])) if op == "and" else (value(tree[1]) or value(tree[2]))

    for item in prog:
        if item[0] == "call":
            out.append(item[1])
        elif item[0] == "set":
            env[item[1]] = item[2]
        else:
            _run(item[2] if value(item[1]) else item[3], env, out)
    return out


def test_dropping_contradictory_paths_never_drops_an_execution(tmp_path):
    """Conformance of the path pruning against a reference interpreter: on 120 generated functions
    every execution (every start value of x, y, z in -1..3) makes the calls of some extracted path.
    The pruning must also find something to drop on some of them, or it is not being tested."""
    import itertools
    import random

    from bbmcheck.extract.c_paths import function_paths
    from bbmcheck.extract.source import read_source

    rng = random.Random(20261201)
    dropped = 0
    for k in range(120):
        body, prog = _random_function(rng)
        code = tmp_path / f"r{k}.c"
        code.write_text("void r(int x, int y, int z)\n{\n" + body + "}\n")
        pruned: list[tuple[str, ...]] = []
        got = {tuple(c.name for c in p.calls) for p in function_paths(read_source(str(code)), "r", None, None, pruned)}
        dropped += len(pruned)
        for x, y, z in itertools.product(range(-1, 4), repeat=3):
            run = tuple(_run(prog, {"x": x, "y": y, "z": z}, []))
            assert run in got, (body, (x, y, z), run, got)
    assert dropped > 20


def test_a_user_map_extends_a_bundled_one(tmp_path):
    """``extends`` starts from a bundled map (or a file beside): entries are added or replaced; a
    circle, a missing map or a non-string is a located error."""
    from bbmcheck.extract.mapping import load_primitives

    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "linux-kvm-arm64"\n[primitives]\nmy_flush = ["tlbi vmalls12e1is"]\n'
                    'isb = []\n[pure]\nnames = ["my_pure"]\n')
    m = load_primitives(str(mine))
    assert m.primitives["my_flush"] == ("tlbi vmalls12e1is",) and m.primitives["isb"] == ()
    assert m.primitives["dsb"] == ("dsb {raw:0}",) and m.dispatch == {"kvm_call_hyp": 0}
    assert "my_pure" in m.pure and "READ_ONCE" in m.pure and m.fails["stage2_try_set_pte"] == ()
    child = tmp_path / "child.toml"
    child.write_text('extends = "mine.toml"\n')
    assert load_primitives(str(child)).primitives["my_flush"] == ("tlbi vmalls12e1is",)
    loop = tmp_path / "loop.toml"
    loop.write_text('extends = "loop.toml"\n')
    with pytest.raises(InputError, match="goes round in a circle") as e:
        load_primitives(str(loop))
    assert (e.value.file, e.value.line, e.value.col) == (str(loop), 1, 11)
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "no-such-map"\n')
    with pytest.raises(InputError, match="extends: no primitive map") as e:
        load_primitives(str(bad))
    assert e.value.file == str(bad)
    bad.write_text("extends = 3\n")
    with pytest.raises(InputError, match="names one map"):
        load_primitives(str(bad))


def test_the_kvm_map_knows_the_range_and_local_flushes(tmp_path):
    """kvm_tlb_flush_vmid_range flushes the range's first page (a weaker flush: nothing hidden);
    __kvm_tlb_flush_vmid_ipa_nsh is the calling PE's own IPAS2E1 and VMALLE1 with DSB NSH."""
    code = tmp_path / "k.c"
    code.write_text("static void f(kvm_pte_t *ptep, kvm_pte_t new, u64 addr, struct kvm_s2_mmu *mmu)\n{\n"
                    "    kvm_clear_pte(ptep);\n    kvm_tlb_flush_vmid_range(mmu, addr, PAGE_SIZE);\n"
                    "    kvm_call_hyp(__kvm_tlb_flush_vmid_ipa_nsh, mmu, addr, 1);\n"
                    "    smp_store_release(ptep, new);\n}\n")
    (m,), _ = extract(str(code), "f", str(HERE / "kvm_replace_leaf.scenario.toml"), strict=True)
    assert m.lines[1:7] == ("dsb ishst", "tlbi ipas2e1is, 0x40000000", "dsb ish", "tlbi vmalle1is", "dsb ish", "isb")
    assert m.lines[7:13] == ("dsb nshst", "tlbi ipas2e1, 0x40000000", "dsb nsh", "tlbi vmalle1", "dsb nsh", "isb")


MERGING = ("static void f(kvm_pte_t *ptep, kvm_pte_t new, int x, int y)\n{\n    if (x)\n        READ_ONCE(*ptep);\n"
           "    if (y)\n        isb();\n    WRITE_ONCE(*ptep, new);\n}\n")
SPLIT_SCENARIO = 'base = "split-bbm"\n[entries]\nptep = "T1[1]"\n[values]\nnew = "table T2"\n'


def test_paths_have_short_stable_names_and_the_conditions_stay_in_the_title(tmp_path):
    """p1, p2, ... in the order the paths are found, merged paths keeping theirs; the model is
    <function>.p<k> (one path: <function>), the scenario's name wins; a [paths] key may be the short
    name; the same path under both its keys is a located error."""
    code, scen = tmp_path / "f.c", tmp_path / "s.toml"
    code.write_text(MERGING)
    scen.write_text(SPLIT_SCENARIO)
    models, _ = extract(str(code), "f", str(scen))
    # y decides whether isb() is made; x only whether a pure read is: x's two paths are one model
    assert [(m.label, m.name, m.path, m.merged) for m in models] == [
        ("p1", "f.p1", "x, y", (("p2", "!(x), y"),)), ("p3", "f.p3", "x, !(y)", (("p4", "!(x), !(y)"),))]
    assert models[0].sequence.title == "f [p1: x, y]" and models[0].lines[0] == "isb"
    again, _ = extract(str(code), "f", str(scen))
    assert [(m.label, m.name, m.sequence.sha256) for m in again] == [(m.label, m.name, m.sequence.sha256)
                                                                      for m in models]
    # a merged path given its own entry is checked on its own, under its own short name
    scen.write_text(SPLIT_SCENARIO + '[paths]\np4 = { level = "L1", name = "mine" }\n"x, y" = { level = "L2" }\n')
    models, _ = extract(str(code), "f", str(scen))
    assert [(m.label, m.name, m.sequence.level.value) for m in models] == [
        ("p1", "f.p1", "L2"), ("p2", "f.p2", "L0"), ("p3", "f.p3", "L0"), ("p4", "mine", "L1")]
    scen.write_text(SPLIT_SCENARIO + '[paths]\n"x, !(y)" = { level = "L1" }\np3 = { level = "L2" }\n')
    with pytest.raises(InputError, match=r"\[paths\] 'p3' and 'x, !\(y\)' are the same path \(p3\)") as e:
        extract(str(code), "f", str(scen))
    assert (e.value.file, e.value.line, e.value.col) == (str(scen), 8, 1)
    # two models of one name would share one model file and one trace name
    scen.write_text(SPLIT_SCENARIO + '[paths]\np1 = { level = "L0", name = "same" }\n'
                    'p3 = { level = "L1", name = "same" }\n')
    with pytest.raises(InputError, match="paths p1 and p3 are both named 'same'") as e:
        extract(str(code), "f", str(scen))
    assert (e.value.file, e.value.line, e.value.col) == (str(scen), 8, 1)
    code.write_text("static void f(kvm_pte_t *ptep, kvm_pte_t new)\n{\n    WRITE_ONCE(*ptep, new);\n}\n")
    scen.write_text(SPLIT_SCENARIO)
    (m,), _ = extract(str(code), "f", str(scen))
    assert (m.label, m.name, m.path, m.sequence.title) == ("p1", "f", "", "f [only path]")


def test_cli_list_paths_and_choose_one(tmp_path, capsys):
    """--list-paths: a line per path (short name, model, instructions, conditions made safe for a
    terminal) and the notes; --path keeps one path by short name or model name, on extract and
    verify --from-code; an unknown one is a located error naming the known ones."""
    code, scen = tmp_path / "f.c", tmp_path / "s.toml"
    code.write_text(MERGING.replace("int y)", "int y, char c)").replace("if (x)", "if (x == '\x1b')"))
    scen.write_text(SPLIT_SCENARIO)
    base = ["extract", str(code), "--function", "f", "--scenario", str(scen)]
    assert main([*base, "--list-paths"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    lines = out.splitlines()
    assert [line.split()[:3] for line in lines[:4]] == [["p1", "f.p1", "2"], ["p2", "f.p1", "2"],
                                                         ["p3", "f.p3", "1"], ["p4", "f.p3", "1"]]
    assert lines[0].endswith("x == '\\x1b', y") and lines[3].endswith("!(x == '\\x1b'), !(y)")
    assert lines[4].startswith("note: path p2 [!(x == '\\x1b'), y] makes the same calls as p1")
    assert main([*base, "--list-paths", "--path", "p4"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["p3", "p4", "note:"]
    for choice, model in (("p2", "f.p1"), ("f.p3", "f.p3")):
        assert main([*base, "--path", choice, "-o", str(tmp_path / choice)]) == 0
        assert [p.name for p in (tmp_path / choice).iterdir()] == [f"{model}.toml"]
    capsys.readouterr()
    argv = [*base, "--path", "f.p2"]
    err = one_error(capsys, argv)
    col = len(" ".join(argv[:argv.index("--path")])) + 2
    assert err.startswith(f"<command-line>:1:{col}: error: --path f.p2: no path of 'f' with a model")
    assert "p1 (f.p1), p2 (f.p1), p3 (f.p3), p4 (f.p3)" in err and "did you mean 'f.p" in err
    assert main(["verify", "--from-code", str(code), "--function", "f", "--scenario", str(scen), "--path", "p3",
                 "--no-traces"]) == 1
    assert capsys.readouterr().out.count("bbmcheck 0.1.0: f.p3: ") == 1
    err = one_error(capsys, ["verify", "ttrem1", "--path", "p1"])
    assert err.startswith("<command-line>:1:15: error: --path chooses a path of the code: it needs --from-code")
    err = one_error(capsys, [*base, "--list-paths", "-o", str(tmp_path / "x")])
    assert "--list-paths prints the paths and writes no model" in err and not (tmp_path / "x").exists()


def test_cli_verify_from_code_json_lists_every_path(tmp_path, capsys):
    """--json with several paths: a list, each object what --json prints for that path alone; the
    exit status is the worst path's."""
    import json

    code, scen = tmp_path / "f.c", tmp_path / "s.toml"
    code.write_text("static void f(kvm_pte_t *ptep, int x)\n{\n    if (x)\n        WRITE_ONCE(*ptep, same);\n"
                    "    else\n        WRITE_ONCE(*ptep, moved);\n}\n")
    scen.write_text(f'base = "{HERE / "one-block.toml"}"\n[entries]\nptep = "T1[1]"\n[values]\n'
                    'same = "block oa=0x80000000 attr=normal perm=rw"\n'
                    'moved = "block oa=0xc0000000 attr=normal perm=rw"\n')
    argv = ["verify", "--from-code", str(code), "--function", "f", "--scenario", str(scen), "--json"]
    assert main(argv) == 1
    listed = json.loads(capsys.readouterr().out)
    assert [(d["model"], d["exit_code"]) for d in listed] == [("f.p1", 0), ("f.p2", 1)]
    # a function none of whose paths updates a page table has nothing to check (it was an internal error)
    code.write_text("static void f(kvm_pte_t *ptep)\n{\n    READ_ONCE(*ptep);\n}\n")
    assert main(argv) == 2
    assert "error: no path of 'f' updates a page table: nothing to check" in capsys.readouterr().err
    code.write_text("static void f(kvm_pte_t *ptep, int x)\n{\n    if (x)\n        WRITE_ONCE(*ptep, same);\n"
                    "    else\n        WRITE_ONCE(*ptep, moved);\n}\n")
    for k, expected_code in ((0, 0), (1, 1)):
        assert main([*argv, "--path", f"p{k + 1}"]) == expected_code
        alone = json.loads(capsys.readouterr().out)
        assert isinstance(alone, dict) and alone == listed[k]


TWO_WAYS = ("static void f(kvm_pte_t *ptep, int x)\n{\n    if (x)\n        WRITE_ONCE(*ptep, same);\n"
            "    else\n        WRITE_ONCE(*ptep, moved);\n}\n")
TWO_WAYS_SCENARIO = (f'base = "{HERE / "one-block.toml"}"\n[entries]\nptep = "T1[1]"\n[values]\n'
                     'same = "block oa=0x80000000 attr=normal perm=rw"\n'
                     'moved = "block oa=0xc0000000 attr=normal perm=rw"\n')


def test_a_correct_fixture_keeps_its_base_models_claims(capsys):
    """Without claims in the scenario the base model's [claims] are the model's: the KVM leaf
    break-before-make claims its invalid window (split-bbm does), so verify exits 0 (it was 1)."""
    argv = ["verify", "--from-code", str(HERE / "kvm_replace_leaf.c"), "--function", "stage2_split_leaf",
            "--scenario", str(HERE / "kvm_replace_leaf.scenario.toml"), "--no-traces"]
    assert main(argv) == 0
    assert "invalid-window     VIOLATED; transient  [claimed violated: ok]" in capsys.readouterr().out
    (m,), _ = extract(str(HERE / "kvm_replace_leaf.c"), "stage2_split_leaf",
                      str(HERE / "kvm_replace_leaf.scenario.toml"))
    assert m.sequence.claims == load_model("split-bbm").claims and m.sequence.expect == "claims-hold"


def test_scenario_claims_expect_and_context_per_path(tmp_path, capsys):
    """A top-level [claims] is every path's; a path's claims, expect, prologue and epilogue are its
    own, instead of the scenario's; an error in a path's own prologue is located where it is written."""
    code, scen = tmp_path / "two.c", tmp_path / "s.toml"
    code.write_text(TWO_WAYS)
    argv = ["verify", "--from-code", str(code), "--function", "f", "--scenario", str(scen), "--no-traces"]
    # p2 moves the block without a break: its violations are claimed, for p2 only
    scen.write_text('prologue = ["dsb ish"]\n' + TWO_WAYS_SCENARIO + '[claims]\ninvalid-window = "holds"\n[paths]\n'
                    'p2 = { claims = { bbm-required = "violated", tlb-conflict = "violated", '
                    'stale-translation = "violated" }, expect = "claims-hold", epilogue = ["isb"] }\n')
    assert main(argv) == 0
    one, two = (m.sequence for m in extract(str(code), "f", str(scen))[0])
    assert one.program[0].text == "dsb ish" and one.program[-1].text != "isb" and one.claimed
    assert two.program[0].text == "dsb ish" and two.program[-1].text == "isb"
    assert two.claims["bbm-required"] == "violated" and two.claims["invalid-window"] == "holds"
    # the top-level claims apply to p1 too: claiming a violation there is refuted
    scen.write_text(TWO_WAYS_SCENARIO + '[claims]\nbbm-required = "violated"\n')
    assert main(argv) == 1
    capsys.readouterr()
    # a path's own prologue replaces the scenario's, and its lines are placed in the scenario
    scen.write_text('prologue = ["dsb ish"]\n' + TWO_WAYS_SCENARIO + '\n[paths.p1]\nlevel = "L0"\n'
                    'prologue = [\n    "isb",\n    "free T9",\n]\n')
    err = one_error(capsys, argv)
    assert err.startswith(f"{scen}:13:11: error: free of unknown table 'T9'"), err
    fixed = scen.read_text().replace('    "free T9",\n', "")
    scen.write_text(fixed.replace('level = "L0"', 'expect = "claims-refuted"'))
    one, two = (m.sequence for m in extract(str(code), "f", str(scen))[0])
    assert [i.text for i in one.program] == ["isb", "str T1[1], block oa=0x80000000 attr=normal perm=rw"]
    assert two.program[0].text == "dsb ish" and one.expect == "claims-refuted" and two.expect == "claims-hold"
    assert (one.program[0].file, one.program[0].line) == (str(scen), 12)


BAD_PATHS = [  # (written before the scenario, after it, line, column, message)
    ("", '[claims]\ninvalid-windw = "holds"\n', 8, 1, "unknown property 'invalid-windw' in [claims] (did you "
     "mean 'invalid-window'?)"),
    ("", '[claims]\ninvalid-window = "hold"\n', 8, 18, "[claims]: 'invalid-window' must be one of holds, violated, "
     "any, not 'hold' (did you mean 'holds'?)"),
    ("claims = 3\n", "", 1, 10, "[claims] must be a table"),
    ("", '[paths]\np1 = { level = "L0", claims = { tlb-conflct = "holds" } }\n', 8, 33,
     "unknown property 'tlb-conflct' in a path's claims"),
    ("", '[paths]\np1 = { level = "L0", claims = { tlb-conflict = 1 } }\n', 8, 48,
     "a path's claims: 'tlb-conflict' must be one of holds, violated, any, not an integer"),
    ("", '[paths]\np1 = { claims = "holds" }\n', 8, 17, "a path's claims must be a table"),
    ("", '[paths]\np1 = { level = "L0", expect = "claims-ok" }\n', 8, 31, "a path's expect must be one of "
     "claims-hold, claims-refuted, not 'claims-ok'"),
    ("", '[paths]\np1 = { prologue = "dsb ish" }\n', 8, 19, "a path's prologue is a list of instruction lines"),
    ("", '[paths]\np1 = { level = "L0", epilogue = ["isb", 3] }\n', 8, 41, "each line of a path's epilogue must "
     "be a string"),
    ("", '[paths]\np1 = { epilogue = ["isb", "dsb bogus"] }\n', 8, 32, "unknown DSB option 'bogus'"),
    ("", '[paths.p1]\nlevel = "L0"\nexpect = true\n', 9, 10, "a path's expect must be a string, not a boolean"),
    ("", '[paths.p1]\nlevel = "L0"\n[paths.p1.claims]\nnt-misuse = "sometimes"\n', 10, 13,
     "'nt-misuse' must be one of holds, violated, any"),
    ("", '[paths]\np1 = { levle = "L0" }\n', 8, 8, "unknown key 'levle' in a path (did you mean 'level'?)"),
]


@pytest.mark.parametrize(("top", "more", "line", "col", "message"), BAD_PATHS, ids=[b[4][:40] for b in BAD_PATHS])
def test_bad_claims_expect_and_context_are_located(top, more, line, col, message, tmp_path):
    from bbmcheck.extract.mapping import load_scenario

    scen = tmp_path / "s.toml"
    scen.write_text(top + TWO_WAYS_SCENARIO + more)
    with pytest.raises(InputError) as e:
        load_scenario(str(scen))
    assert message in e.value.message
    assert (e.value.file, e.value.line, e.value.col) == (str(scen), line, col), e.value.render()


def test_traces_of_extracted_models_replay_and_go_stale_with_the_code(tmp_path, capsys):
    """A trace of a model from code records how it was extracted; replay and show extract it again
    (the code and scenario as they were, the same model) and refuse it, exit 4, once either changed."""
    import hashlib
    import json
    import shutil

    from bbmcheck.trace.replay_itf import replay_file

    code, scen = tmp_path / "kvm_split_locked.c", tmp_path / "kvm_split_locked.scenario.toml"
    shutil.copy(HERE / code.name, code)
    shutil.copy(HERE / scen.name, scen)
    out = tmp_path / "traces"
    assert main(["verify", "--from-code", str(code), "--function", "stage2_split_locked", "--scenario", str(scen),
                 "--trace-out", str(out), "--no-traces"]) == 0  # the invalid window is claimed
    trace = out / "kvm-split-locked.invalid-window.itf.json"
    doc = json.loads(trace.read_text())
    assert doc["#meta"]["extracted"] == {
        "code": str(code), "code_sha256": hashlib.sha256(code.read_bytes()).hexdigest(),
        "function": "stage2_split_locked", "scenario": str(scen),
        "scenario_sha256": hashlib.sha256(scen.read_bytes()).hexdigest(), "primitives": "linux-kvm-arm64",
        "path": "p2", "model": "kvm-split-locked"}  # the map chosen is recorded: replay uses the same
    capsys.readouterr()
    assert main(["replay", str(trace)]) == 0
    said = capsys.readouterr().out
    assert f"against kvm-split-locked (path p2 of 'stage2_split_locked') extracted from {code}" in said
    assert "confirmed" in said
    assert main(["show", str(trace)]) == 0
    assert "invalid-window in kvm-split-locked at L0" in capsys.readouterr().out
    with pytest.raises(InputError, match="only a caller that extracts"):
        replay_file(str(trace))  # the trace layer does not extract

    def refused(command: str, phrase: str, key: str, exit_code: int = 4) -> None:
        assert main([command, str(trace)]) == exit_code
        err = capsys.readouterr().err.strip()
        line = next(n for n, text in enumerate(trace.read_text().splitlines(), 1) if f'"{key}":' in text)
        assert err.startswith(f"{trace}:{line}:1: error: ") and phrase in err and "\n" not in err, err

    original = code.read_text()
    code.write_text(original.replace("{\n", "{\n\t/* the break, then the make */\n", 1))
    refused("replay", f"stale trace: {code} has changed since the trace was written", "code_sha256")
    refused("show", f"stale trace: {code} has changed", "code_sha256")
    code.write_text(original)
    scen.write_text(scen.read_text() + "# edited\n")
    refused("replay", f"stale trace: {scen} has changed", "scenario_sha256")
    shutil.copy(HERE / scen.name, scen)
    assert main(["replay", str(trace)]) == 0
    # what the trace says about its extraction is checked, not trusted
    for key, value, phrase, exit_code in (("path", "p1", "is no longer extracted as it was", 4),
                                          ("path", "stage2", "path must be a path's short name", 2),
                                          ("function", None, "function must be a non-empty string", 2)):
        forged = json.loads(json.dumps(doc))
        forged["#meta"]["extracted"][key] = value
        trace.write_text(json.dumps(forged, indent=1))
        refused("replay", phrase, "extracted" if exit_code == 2 or key == "path" else key, exit_code)
    forged = json.loads(json.dumps(doc))
    forged["#meta"]["model_sha256"] = "0" * 64
    trace.write_text(json.dumps(forged, indent=1))
    refused("replay", "extracts into another model than the trace's", "model_sha256")


def test_default_scenario_traces_replay_and_a_path_keeps_its_situations(tmp_path, capsys):
    """With no scenario a path has a model per standard situation: --path keeps them all (it was an
    error: 'N paths have this model name'), and a trace of any of them, not only the path's first,
    is extracted again by its model's name."""
    code = str(HERE / "default_scenario.c")
    assert main(["extract", code, "--function", "replace_leaf_ipa_only", "--path", "p2", "--list-paths"]) == 0
    rows = [line.split()[:2] for line in capsys.readouterr().out.splitlines() if not line.startswith("note:")]
    assert len(rows) > 2 and {label for label, _ in rows} == {"p2"} and len({name for _, name in rows}) == len(rows)
    out = tmp_path / "traces"
    assert main(["verify", "--from-code", code, "--function", "replace_leaf_ipa_only", "--trace-out", str(out),
                 "--no-traces", "--path", "p2"]) == 1
    assert capsys.readouterr().out.count("bbmcheck 0.1.0: replace_leaf_ipa_only.p2.") == len(rows)
    trace = out / f"{rows[2][1]}.invalid-window.itf.json"  # the path's third situation
    assert main(["replay", str(trace)]) == 0
    assert f"against {rows[2][1]} (path p2 of 'replace_leaf_ipa_only') extracted from" in capsys.readouterr().out


PREPROC_C = """\
static void f(kvm_pte_t *ptep, kvm_pte_t new, struct kvm_s2_mmu *mmu)
{
#if defined(CONFIG_USE_NT)
\tWRITE_ONCE(*ptep, new | KVM_PTE_LEAF_BLOCK_S2_NT);
\tkvm_call_hyp(__kvm_tlb_flush_vmid, mmu);
#elif 0
\tisb();
#else
\tWRITE_ONCE(*ptep, 0);
\tkvm_call_hyp(__kvm_tlb_flush_vmid, mmu);
#endif
#ifdef CONFIG_EXTRA_DSB
\tdsb(ish);
#endif
\tsmp_store_release(ptep, new);
}
"""


def test_preprocessor_branches_are_configurations(tmp_path) -> None:
    """Each #if/#elif/#else branch is a configuration of its own, #if 0 none (they all ran in a row)."""
    code = tmp_path / "pp.c"
    code.write_text(PREPROC_C)
    got, _ = extract(str(code), "f", None)
    conds = {m.path for m in got}
    assert len(conds) == 4  # two configurations of the #if, times #ifdef or not
    for m in got:
        stores = [i for i in m.sequence.program if i.is_store]
        nt = [i for i in stores if i.desc is not None and i.desc.nt]
        assert len(stores) == 2 and ("#if defined(CONFIG_USE_NT)" in m.path.split(", ")) == bool(nt), m.path
        assert not any(i.line == 7 for i in m.sequence.program)  # the #elif 0 branch is no configuration
        assert ("#ifdef CONFIG_EXTRA_DSB" in m.path.split(", ")) == any(
            i.text == "dsb ish" and i.line == 13 for i in m.sequence.program)


ASM_C = """\
static void f(kvm_pte_t *ptep, kvm_pte_t new, u64 va)
{
\tWRITE_ONCE(*ptep, 0);
\tasm volatile("dsb ishst\\n\\ttlbi vmalls12e1is" ::: "memory");
\t__asm__ __volatile__("tlbi vae1is, %0" :: "r"(va));
\tasm volatile("dsb ish" ::: "memory");
\tsmp_store_release(ptep, new);
}
"""


def test_inline_assembly_is_read_or_said(tmp_path, capsys) -> None:
    code = tmp_path / "asm.c"
    code.write_text(ASM_C)
    assert main(["extract", str(code), "--function", "f", "--path", "p1"]) == 0
    out, err = capsys.readouterr()
    assert "dsb ishst\ntlbi vmalls12e1is\ndsb ish\n" in out  # the barriers and the TLBI of the first asm
    assert f"{code}:5:2: warning: inline assembly 'tlbi vae1is, %0': a TLBI whose address is an operand" in err
    assert main(["extract", str(code), "--function", "f", "--strict"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{code}:5:2: error: inline assembly 'tlbi vae1is, %0'")
