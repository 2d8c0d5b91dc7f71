"""Proof checkers: Coq through coqc (backend tests), Lean 4's pure pieces on canned output, and
a real Lean check when a toolchain is installed.

Every escape the checkers refuse has its own test that asserts the status and that ``detail``
names the reason; the escapes are refused by the scanner (no coqc run) and, behind it,
``Print Assumptions`` refuses any axiom the proof depends on.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from spenv.verifiers import Verdict
from spenv.verifiers.proof import (
    LEAN_STANDARD_AXIOMS,
    CoqChecker,
    LeanChecker,
    ScanError,
    _parse_print_assumptions,
    _run_bounded,
    parse_lean_axioms,
    parse_lean_messages,
    scan_coq_proof,
    scan_coq_statement,
    scan_lean_proof,
    scan_lean_statement,
)

HAVE_COQ = shutil.which("coqc") is not None
needs_coq = pytest.mark.skipif(not HAVE_COQ, reason="coqc not installed (apt-get install coq)")

ADD_0 = "forall n : nat, n + 0 = n"
ADD_0_PROOF = "intros n. induction n as [|n IH]; simpl; [reflexivity | rewrite IH; reflexivity]."
LIA = "Require Import Lia."
LISTS = "Require Import List.\nImport ListNotations."


@pytest.fixture(scope="module")
def coq() -> CoqChecker:
    return CoqChecker(timeout=60)


def _spenv_tmpdirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("spenv-coq-*")}


# ----------------------------------------------------------------------------- accepted


@pytest.mark.parametrize(
    ("statement", "proof", "preamble"),
    [
        ("forall n m : nat, n + m = m + n", "intros. lia.", LIA),
        ("forall x y : nat, 2 * x + 3 <= 2 * (x + y) + 3", "intros; lia.", LIA),
        (ADD_0, ADD_0_PROOF, ""),
        (
            "forall (A : Type) (l : list A), l ++ [] = l",
            "intros A l. induction l as [|x l IH].\n- reflexivity.\n- simpl. rewrite IH. "
            "reflexivity.",
            LISTS,
        ),
        (
            "forall (A : Type) (l1 l2 : list A), length (l1 ++ l2) = length l1 + length l2",
            "intros A l1 l2. induction l1 as [|x l1 IH]; simpl.\n{ reflexivity. }\n"
            "{ rewrite IH. reflexivity. }",
            LISTS,
        ),
    ],
    ids=["lia-comm", "lia-ineq", "nat-induction", "list-app-nil", "list-length-app"],
)
@pytest.mark.backend("coqc")
@needs_coq
def test_valid_proofs_are_accepted(coq, statement, proof, preamble):
    v = coq.check(statement, proof, preamble=preamble)
    assert isinstance(v, Verdict)
    assert v.status == "ok", v.detail
    assert v.score == 1.0
    assert v.data["axioms"] == []


@pytest.mark.backend("coqc")
@needs_coq
def test_wrapped_script_and_theorem_header_are_accepted(coq):
    v = coq.check(
        "Theorem add_comm' (n m : nat) : n + m = m + n.",
        "Proof.\n  intros. lia.\nQed.",
        preamble=LIA,
    )
    assert v.status == "ok", v.detail
    v = coq.check("Goal forall n : nat, n = n.", "Proof. reflexivity. Defined.")
    assert v.status == "ok", v.detail


@pytest.mark.backend("coqc")
@needs_coq
def test_comments_and_goal_selectors_are_fine(coq):
    proof = "(* split (* nested *) first *) split.\nall: (* both *) reflexivity."
    v = coq.check("1 = 1 /\\ 2 = 2", proof)
    assert v.status == "ok", v.detail


@pytest.mark.backend("coqc")
@needs_coq
def test_check_statement(coq):
    assert coq.check_statement(ADD_0).status == "ok"
    v = coq.check_statement("nat")
    assert v.status == "format_error" and "Prop" in v.detail
    v = coq.check_statement("forall n : nat, n + = n")
    assert v.status == "format_error" and v.data["part"] == "statement"


# ----------------------------------------------------------------------------- rejected by coqc


@pytest.mark.backend("coqc")
@needs_coq
def test_incomplete_proof_is_wrong(coq):
    v = coq.check(ADD_0, "intros n. simpl.")
    assert v.status == "wrong"
    assert "incomplete proof" in v.detail
    assert v.data["part"] == "proof"


@pytest.mark.backend("coqc")
@needs_coq
def test_failing_tactic_is_wrong(coq):
    v = coq.check(ADD_0, "intros n. exact I.")
    assert v.status == "wrong"
    assert "coqc rejected the proof" in v.detail and "I" in v.detail


@pytest.mark.backend("coqc")
@needs_coq
def test_syntax_error_in_proof_is_format_error(coq):
    v = coq.check(ADD_0, "intros n. induction n as [|n IH]; simpl; [reflexivity | auto ] junk.")
    assert v.status == "format_error"
    assert "does not parse" in v.detail and "Syntax error" in v.detail


@pytest.mark.backend("coqc")
@needs_coq
def test_malformed_statement_is_format_error(coq):
    v = coq.check("forall n : nat, n + = n", "auto.")
    assert v.status == "format_error" and v.data["part"] == "statement"
    assert "statement rejected by coqc" in v.detail
    v = coq.check("nat", "exact 0.")  # a type, not a proposition
    assert v.status == "format_error" and "Prop" in v.detail


@pytest.mark.backend("coqc")
@needs_coq
def test_kernel_rechecks_unchecked_tactics(coq):
    v = coq.check("1 = 2", "exact_no_check (eq_refl 1).")
    assert v.status == "wrong"


@pytest.mark.backend("coqc")
@needs_coq
def test_unguarded_fixpoint_is_wrong(coq):
    v = coq.check(ADD_0, "fix f 1. exact f.")
    assert v.status == "wrong"


@pytest.mark.backend("coqc")
@needs_coq
def test_print_assumptions_refuses_axioms(coq):
    """Behind the scanner: an axiom reachable from the preamble is caught by Print Assumptions."""
    preamble = "Axiom cheat : forall P : Prop, P."
    v = coq.check("1 = 2", "apply cheat.", preamble=preamble)
    assert v.status == "wrong"
    assert "not closed under the global context" in v.detail and "cheat" in v.detail
    assert v.data["axioms"] == ["cheat"]
    allowing = CoqChecker(timeout=60, allowed_axioms=["cheat"])
    assert allowing.check("1 = 2", "apply cheat.", preamble=preamble).status == "ok"


@pytest.mark.backend("coqc")
@needs_coq
def test_classical_axiom_from_the_library_is_refused_unless_allowed(coq):
    pre = "Require Import Classical."
    v = coq.check("forall P : Prop, P \\/ ~ P", "exact classic.", preamble=pre)
    assert v.status == "wrong" and "classic" in v.detail
    ok = CoqChecker(timeout=60, allowed_axioms=["classic"])
    assert ok.check("forall P : Prop, P \\/ ~ P", "exact classic.", preamble=pre).status == "ok"


@pytest.mark.backend("coqc")
@needs_coq
def test_broken_preamble_is_an_error_not_a_wrong_proof(coq):
    v = coq.check(ADD_0, ADD_0_PROOF, preamble="Require Import NoSuchLibraryAnywhere.")
    assert v.status == "error" and "preamble" in v.detail


@pytest.mark.backend("coqc")
@needs_coq
def test_divergent_tactic_times_out_and_is_cleaned_up(tmp_path, monkeypatch):
    # the checker's scratch folders go to a temporary root of this test alone, so folders other
    # runs on the machine create meanwhile are not counted
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    checker = CoqChecker(timeout=2.0)
    v = checker.check(ADD_0, "do 1000000000 idtac.")
    assert v.status == "timeout"
    assert "2 s" in v.detail
    assert v.elapsed < 2.0 + 10.0
    assert _spenv_tmpdirs() == set()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.backend("coqc")
@needs_coq
def test_memory_cap_stops_a_runaway_tactic():
    v = CoqChecker(timeout=30, memory_mb=512).check(ADD_0, "let rec f x := f x in f 0.")
    assert v.status == "wrong"
    assert "memory" in v.detail or "Stack overflow" in v.detail


def test_memory_limit_is_in_place_before_the_checker_starts(tmp_path):
    # the child reports its own limit as its first act: set before exec, never after
    res = _run_bounded(["/bin/sh", "-c", "ulimit -v"], cwd=tmp_path, timeout=10, memory_mb=512)
    assert res.returncode == 0 and res.output.split() == [str(512 * 1024)]
    free = _run_bounded(["/bin/sh", "-c", "ulimit -v"], cwd=tmp_path, timeout=10, memory_mb=None)
    assert free.output.split() != [str(512 * 1024)]
    with pytest.raises(FileNotFoundError):
        _run_bounded(["/nonexistent/coqc"], cwd=tmp_path, timeout=10, memory_mb=512)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Closed under the global context\n", ([], [])),
        ("Axioms:\ncheat : forall P : Prop,\n        P\n", (["cheat"], [])),
        ("Axioms:\nf is assumed to be guarded.\n", ([], ["f is assumed to be guarded."])),
        ("Axioms:\nI is assumed to be positive.\n", ([], ["I is assumed to be positive."])),
        ("Section Variables:\nx : nat\n", ([], ["Section Variables"])),
        ("Closed under the global context\nAxioms:\nc : False\n", None),
        ("nothing like it", None),
    ],
    ids=["closed", "axiom", "unguarded", "non-positive", "section", "closed-then-more", "other"],
)
def test_print_assumptions_parser_is_strict(text, expected):
    got = _parse_print_assumptions(text)
    if expected is None:
        assert got is None or got[1]  # never read as closed
    else:
        assert got == expected


@pytest.mark.backend("coqc")
@needs_coq
def test_guard_checking_turned_off_upstream_is_not_closed(coq):
    pre = "Unset Guard Checking.\nFixpoint f (n : nat) : False := f n.\nSet Guard Checking."
    v = coq.check("1 = 2", "destruct (f 0).", preamble=pre)
    assert v.status == "wrong" and "assumed to be guarded" in v.detail


@pytest.mark.backend("coqc")
@needs_coq
def test_first_closing_names_the_first_tactic_that_proves_the_statement(coq):
    tactics = ["exact I", "intros; simpl; reflexivity", "intros; lia"]
    v = coq.first_closing("forall n : nat, 0 + n = n", tactics, preamble=LIA)
    assert v.status == "ok" and v.data["closed_by"] == 1
    v = coq.first_closing("forall n : nat, n + 0 = n", tactics, preamble=LIA)
    assert v.data["closed_by"] == 2
    v = coq.first_closing("forall n : nat, n + 1 = n", tactics, preamble=LIA)
    assert v.status == "ok" and v.data["closed_by"] is None
    v = coq.first_closing("forall n : nat, n + = n", tactics, preamble=LIA)
    assert v.status == "format_error" and v.data["part"] == "statement"
    v = coq.first_closing("True. Axiom c : False", tactics)
    assert v.status == "format_error"


def test_missing_coqc_is_an_error():
    v = CoqChecker(coqc="/nonexistent/coqc").check(ADD_0, ADD_0_PROOF)
    assert v.status == "error"
    assert "coqc not found" in v.detail


def test_bad_timeout_is_refused():
    with pytest.raises(ValueError, match="timeout"):
        CoqChecker(timeout=0)


# ----------------------------------------------------------------------------- escapes (scanner)

# (id, proof, status, a word the detail must contain). None of these runs coqc.
COQ_CHEATS = [
    ("Admitted", "intros n. Admitted.", "wrong", "Admitted"),
    ("Proof-Admitted", "Proof. intros n. Admitted.", "wrong", "Admitted"),
    ("admit", "intros n. admit.", "wrong", "admit"),
    ("admit-nested", "intros n; try (solve [admit]).", "wrong", "admit"),
    ("give_up", "intros n. give_up.", "wrong", "give_up"),
    ("Axiom", "Axiom cheat : forall n, n + 0 = n. exact cheat.", "wrong", "Axiom"),
    ("Local-Axiom", "Local Axiom cheat : False. destruct cheat.", "wrong", "Local"),
    ("attribute", "#[local] Axiom cheat : False. destruct cheat.", "wrong", "attributes"),
    ("Parameter", "Parameter cheat : forall n, n + 0 = n. exact cheat.", "wrong", "Parameter"),
    ("Hypothesis", "Hypothesis h : forall n, n + 0 = n. exact h.", "wrong", "Hypothesis"),
    ("Variable", "Variable h : forall n, n + 0 = n. exact h.", "wrong", "Variable"),
    ("Conjecture", "Conjecture h : forall n, n + 0 = n. exact h.", "wrong", "Conjecture"),
    ("Abort", "Abort. Theorem goal : True. Proof. exact I.", "wrong", "Abort"),
    ("Qed-early", "exact I. Qed. Theorem goal2 : True. Proof. exact I.", "wrong", "Qed"),
    (
        "Lemma-helper",
        "Lemma helper : forall n, n + 0 = n. Proof. admit. Admitted. exact helper.",
        "wrong",
        "Lemma",
    ),
    ("Definition", "Definition nat := bool. auto.", "wrong", "Definition"),
    ("Fixpoint", "Fixpoint f (n : nat) : nat := n. auto.", "wrong", "Fixpoint"),
    ("Notation", 'Notation "x + y" := (x). reflexivity.', "wrong", "Notation"),
    ("Infix", 'Infix "+" := Nat.mul. auto.', "wrong", "Infix"),
    ("Reserved-Notation", 'Reserved Notation "x ++ y". auto.', "wrong", "Reserved"),
    ("Require", "Require Import Classical. apply classic.", "wrong", "Require"),
    ("From-Require", "From Coq Require Import Lia. lia.", "wrong", "From"),
    ("Import", "Import Nat. auto.", "wrong", "Import"),
    ("Set", "Set Printing All. auto.", "wrong", "Set"),
    ("Unset", "Unset Guard Checking. fix f 1. exact f.", "wrong", "Unset"),
    ("Proof-using", "Proof using. auto. Qed.", "wrong", "Proof using"),
    ("Proof-with", "Proof with auto. auto. Qed.", "wrong", "Proof with"),
    ("Qed-missing", "Proof. intros n. induction n; simpl; auto.", "format_error", "Qed"),
    ("Extraction", "Extraction goal. auto.", "wrong", "Extraction"),
    ("Declare-ML", 'Declare ML Module "evil". auto.', "wrong", "Declare"),
    ("Load", 'Load "evil". auto.', "wrong", "Load"),
    ("Redirect", 'Redirect "out" Print nat. auto.', "wrong", "Redirect"),
    ("Drop", "Drop. auto.", "wrong", "Drop"),
    ("Ltac", "Ltac loop := loop. loop.", "wrong", "Ltac"),
    ("Fail", "Fail Qed. auto.", "wrong", "Fail"),
    ("Time", "Time auto.", "wrong", "Time"),
    ("Goal", "Goal True. exact I.", "wrong", "Goal"),
    ("Show", "Show. auto.", "wrong", "Show"),
    ("Check", "Check I. auto.", "wrong", "Check"),
    ("Print-Assumptions", "auto. Print Assumptions goal.", "wrong", "Print"),
    ("Succeed", "Succeed idtac. auto.", "wrong", "Succeed"),
    ("Timeout", "Timeout 1 auto.", "wrong", "Timeout"),
    ("Unset-Universe", "Unset Universe Checking. auto.", "wrong", "Unset"),
    ("Local-Set", "Local Set Printing All. auto.", "wrong", "Local"),
    ("Guard-in-a-term", "exact (Guard Checking).", "wrong", "Guard"),
    ("attribute-mid-sentence", "auto; #[local] idtac.", "wrong", "attributes"),
    ("Ltac-in-a-term", "exact ltac:(Ltac f := idtac).", "wrong", "Ltac"),
    ("bullet-then-vernacular", "split.\n- Admitted.", "wrong", "Admitted"),
    ("brace-then-vernacular", "split. { Axiom c : False. destruct c. }", "wrong", "Axiom"),
    ("selector-then-vernacular", "all: Admitted.", "wrong", "Admitted"),
    ("comment-hides-Qed", "exact I.(* *)Qed. Axiom x : False.", "wrong", "Qed"),
    ("string", 'idtac "Closed under the global context". auto.', "wrong", "string"),
    ("unterminated-comment", "auto. (* Admitted.", "format_error", "comment"),
    ("stray-comment-close", "auto. *) Admitted.", "format_error", "comment"),
    ("unterminated-string", 'idtac "oops. auto.', "format_error", "string"),
    ("no-final-period", "intros n; auto", "format_error", "'.'"),
    ("empty", "   (* nothing *)  ", "format_error", "empty"),
    ("only-wrappers", "Proof. Qed.", "format_error", "empty"),
    ("not-a-string", None, "format_error", "string"),
]


@pytest.mark.parametrize(
    ("proof", "status", "reason"), [c[1:] for c in COQ_CHEATS], ids=[c[0] for c in COQ_CHEATS]
)
def test_coq_escape_is_refused(proof, status, reason):
    # A checker whose coqc does not exist: the scanner must refuse before coqc is needed.
    v = CoqChecker(coqc="/nonexistent/coqc").check(ADD_0, proof)
    assert v.status == status, v.detail
    assert reason in v.detail
    assert v.data["part"] == "proof"
    assert v.score == 0.0


COQ_BAD_STATEMENTS = [
    ("second-sentence", "True. Axiom cheat : False", "sentence end"),
    ("breakout", "True) : Prop). Axiom cheat : (False", "sentence end"),
    ("unbalanced", "(True", "unclosed"),
    ("unbalanced-close", "True)", "unbalanced"),
    ("empty", "  (* nothing *) ", "empty"),
    ("string", '"True"', "string"),
    ("admit", "ltac:(admit)", "admit"),
    # a tactic run while the statement is elaborated (it could depend on where that happens)
    ("ltac-quotation", "ltac:(exact True)", "tactic quotation"),
    ("constr-quotation", "forall n : nat, n = constr:(n)", "tactic quotation"),
    ("header-without-colon", "Theorem foo True.", "':'"),
    ("not-a-string", 42, "string"),
]


@pytest.mark.parametrize(
    ("statement", "reason"),
    [c[1:] for c in COQ_BAD_STATEMENTS],
    ids=[c[0] for c in COQ_BAD_STATEMENTS],
)
def test_bad_coq_statement_is_format_error(statement, reason):
    v = CoqChecker(coqc="/nonexistent/coqc").check(statement, "auto.")
    assert v.status == "format_error"
    assert v.data["part"] == "statement"
    assert reason in v.detail


def test_statement_normalisation():
    assert scan_coq_statement("forall n : nat, n = n.") == "forall n : nat, n = n"
    assert scan_coq_statement("Lemma x (n m : nat) : n = m -> m = n.") == (
        "forall (n m : nat), n = m -> m = n"
    )
    assert scan_coq_statement("Theorem t : forall n : nat, n = n.") == "forall n : nat, n = n"
    assert scan_coq_statement("Goal 1 = 1.") == "1 = 1"
    assert scan_coq_statement("Nat.add 1 1 = 2") == "Nat.add 1 1 = 2"  # qualified names ok


def test_scanner_output_is_what_coqc_sees():
    """Comments are blanked in the text written to the file, so none can hide a token from
    the scanner: a string inside a comment keeps the comment open, as in coqc."""
    proof = 'exact I. (* " *) Qed. Axiom x : False. " *)'
    script = scan_coq_proof(proof)
    assert script.strip() == "exact I."
    source, _layout, _nonce = CoqChecker().build_source("True", proof)
    assert "(*" not in source and "Axiom" not in source
    assert source.count("Qed.") == 1
    assert scan_coq_proof("(* (* nested *) Admitted. *) exact I.").strip() == "exact I."


def test_build_source_layout():
    source, layout, nonce = CoqChecker().build_source(ADD_0, ADD_0_PROOF, preamble=LIA)
    lines = source.splitlines()
    assert lines[0] == LIA
    assert f"Theorem goal : {ADD_0}." in lines
    assert lines.index("Proof.") < lines.index("Qed.") < lines.index("Print Assumptions goal.")
    assert nonce in source
    assert layout.part_of(1) == "preamble"
    assert layout.part_of(lines.index("Proof.") + 1) == "proof"
    assert layout.part_of(lines.index("Qed.") + 1) == "qed"


def test_scan_error_carries_status():
    with pytest.raises(ScanError) as info:
        scan_coq_proof("(* open")
    assert info.value.status == "format_error"
    with pytest.raises(ScanError) as info:
        scan_coq_proof("admit.")
    assert info.value.status == "wrong"


def test_unshelve_is_allowed_and_qualified_tactics_are_not_vernacular():
    assert "Unshelve" in scan_coq_proof("eexists. Unshelve. exact 0.")
    assert scan_coq_proof("Z.to_euclidean_division_equations. lia.")


# ----------------------------------------------------------------------------- Lean (pure)

LEAN_CHEATS = [
    ("sorry", "intro n\n  sorry", "sorry"),
    ("admit", "admit", "admit"),
    ("axiom", "exact (by axiom cheat : False; exact cheat)", "axiom"),
    ("implemented_by", "@[implemented_by foo] exact rfl", "attributes"),
    ("unsafe-word", "unsafe exact rfl", "unsafe"),
    ("macro", 'macro "cheat" : tactic => `(tactic| sorry)\n  cheat', "macro"),
    ("syntax", 'syntax "cheat" : tactic\n  cheat', "syntax"),
    ("notation", 'notation "x" => 1\n  rfl', "notation"),
    ("set_option", "set_option maxHeartbeats 0 in\n  decide", "set_option"),
    ("eval", "#eval 1\n  rfl", "#eval"),
    ("print", "rfl\n#print axioms goal", "#print"),
    ("open", "open Classical in exact em _", "open"),
    ("native_decide", "native_decide", "native_decide"),
    ("theorem", "rfl\ntheorem goal2 : False := sorry", "theorem"),
    ("string", 'trace "hi"\n  rfl', "string"),
    ("quotation", "run_tac `(rfl)", "run_tac"),
    ("backtick", "simp [`foo]", "'`'"),
    ("meta", "exact Lean.Elab.Tactic.foo", "metaprogramming"),
    ("escaped-ident", "exact «my cheat» _", "escaped"),
    ("unterminated-comment", "rfl /- sorry", "comment"),
    ("empty", "-- nothing", "empty"),
]


@pytest.mark.parametrize(
    ("proof", "reason"), [c[1:] for c in LEAN_CHEATS], ids=[c[0] for c in LEAN_CHEATS]
)
def test_lean_escape_is_refused(proof, reason):
    v = LeanChecker(lean="/nonexistent/lean").check("∀ n : Nat, n + 0 = n", proof)
    assert v.status in ("wrong", "format_error")
    assert reason in v.detail
    assert v.data["part"] == "proof"


def test_lean_comments_are_blanked_not_scanned():
    body = scan_lean_proof("intro n -- sorry would be refused here\n  /- admit /- nested -/ -/ rfl")
    assert "sorry" not in body and "admit" not in body
    assert "intro n" in body and "rfl" in body
    assert scan_lean_proof("by\n  intro n\n  rfl").strip().startswith("intro n")


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("True := by trivial", ":= by"),
        ("True\ntheorem other : False", "theorem"),
        ("(True", "unclosed"),
        ("sorry", "sorry"),
        ("", "empty"),
    ],
)
def test_bad_lean_statement_is_format_error(statement, reason):
    v = LeanChecker(lean="/nonexistent/lean").check(statement, "trivial")
    assert v.status == "format_error" and v.data["part"] == "statement"
    assert reason in v.detail
    with pytest.raises(ScanError):
        scan_lean_statement(statement)


def test_lean_build_source_and_command(tmp_path, monkeypatch):
    monkeypatch.delenv("SPENV_LEAN_PROJECT", raising=False)
    checker = LeanChecker()
    source, layout = checker.build_source(
        "∀ n : Nat, n + 0 = n", "by intro n\n   simp", preamble="import Mathlib"
    )
    assert source.splitlines() == [
        "import Mathlib",
        "theorem goal : ∀ n : Nat, n + 0 = n := by",
        "  intro n",
        "  simp",
        "#print axioms goal",
    ]
    assert [p[0] for p in layout.parts] == ["preamble", "statement", "proof", "audit"]
    cmd, cwd = checker.command(tmp_path / "Goal.lean")
    assert cmd[-2:] == ["--json", str(tmp_path / "Goal.lean")] and cwd is None
    monkeypatch.setenv("SPENV_LEAN_PROJECT", str(tmp_path))
    project = LeanChecker(lake="lake")
    cmd, cwd = project.command(tmp_path / "Goal.lean")
    assert cmd[1:4] == ["env", "lean", "--json"] and cwd == str(tmp_path)


def test_lean_toolchain_detection(tmp_path, monkeypatch):
    monkeypatch.delenv("SPENV_LEAN_PROJECT", raising=False)
    missing = LeanChecker(lean="/nonexistent/lean")
    assert not missing.available() and "lean not found" in missing.unavailable_reason()
    v = missing.check("True", "trivial")
    assert v.status == "error" and "lean not found" in v.detail
    gone = LeanChecker(project=tmp_path / "nope")
    assert "does not exist" in gone.unavailable_reason()
    no_lake = LeanChecker(project=tmp_path, lake="/nonexistent/lake")
    assert "lake not found" in no_lake.unavailable_reason()


def _json(severity, line, data, column=0):
    import json

    return json.dumps(
        {
            "severity": severity,
            "pos": {"line": line, "column": column},
            "endPos": None,
            "fileName": "/tmp/spenv-lean-x/Goal.lean",
            "caption": "",
            "data": data,
        }
    )


@pytest.fixture
def lean_layout():
    _src, layout = LeanChecker().build_source("∀ n : Nat, n + 0 = n", "intro n\nsimp")
    return layout  # line 1 theorem, 2-3 proof, 4 #print axioms


@pytest.mark.parametrize(
    ("output", "status", "reason"),
    [
        (_json("information", 4, "'goal' depends on axioms: [propext]"), "ok", "standard"),
        (_json("information", 4, "'goal' does not depend on any axioms"), "ok", "standard"),
        (
            _json(
                "information",
                4,
                "'goal' depends on axioms: [propext, Classical.choice, Quot.sound]",
            ),
            "ok",
            "standard",
        ),
        (_json("information", 4, "'goal' depends on axioms: [sorryAx]"), "wrong", "sorryAx"),
        (
            _json("information", 4, "'goal' depends on axioms: [Lean.ofReduceBool]"),
            "wrong",
            "Lean.ofReduceBool",
        ),
        (
            _json("error", 1, "unsolved goals\nn : Nat\n⊢ n + 0 = n", column=37)
            + "\n"
            + _json("information", 4, "'goal' depends on axioms: [sorryAx]"),
            "wrong",
            "unsolved goals",
        ),
        # a message from the proof's lines imitating the audit is not the audit
        (
            _json("information", 2, "'goal' does not depend on any axioms")
            + "\n"
            + _json("information", 4, "'goal' depends on axioms: [sorryAx]"),
            "wrong",
            "sorryAx",
        ),
        (
            _json("information", 3, "'goal' does not depend on any axioms"),
            "error",
            "no '#print axioms'",
        ),
        (_json("error", 3, "simp made no progress"), "wrong", "simp made no progress"),
        (_json("error", 3, "unexpected token 'at'; expected command"), "format_error", "parse"),
        (_json("error", 1, "unknown identifier 'Natt'", column=20), "format_error", "statement"),
        (
            _json(
                "error",
                3,
                "(deterministic) timeout at `whnf`, maximum number of heartbeats "
                "(200000) has been reached",
            ),
            "timeout",
            "heartbeats",
        ),
        ("", "error", "no '#print axioms'"),
        # plain-text output (no --json), old and new styles
        ("'goal' depends on axioms: [propext]", "ok", "standard"),
        ("/tmp/Goal.lean:4:0: info: 'goal' depends on axioms: [Quot.sound]", "ok", "standard"),
        ("/tmp/Goal.lean:3:2: error: linarith failed\nextra context line", "wrong", "linarith"),
        (
            "/tmp/Goal.lean:1:8: warning: declaration uses 'sorry'\n"
            "/tmp/Goal.lean:4:0: 'goal' depends on axioms: [sorryAx]",
            "wrong",
            "sorry",
        ),
    ],
)
def test_lean_verdict_from_canned_output(lean_layout, output, status, reason):
    v = LeanChecker().verdict_from_output(output, lean_layout, returncode=0)
    assert v.status == status, v.detail
    assert reason in v.detail


def test_lean_timeout_and_crash_outputs(lean_layout):
    v = LeanChecker(timeout=5).verdict_from_output("", lean_layout, timed_out=True)
    assert v.status == "timeout" and "5 s" in v.detail
    v = LeanChecker().verdict_from_output("Segmentation fault", lean_layout, returncode=139)
    assert v.status == "error" and "139" in v.detail


def test_lean_parsers():
    msgs = parse_lean_messages(
        _json("error", 3, "oops") + "\n/x/Goal.lean:4:0: info: 'goal' depends on axioms: []"
    )
    assert [(m.severity, m.line) for m in msgs] == [("error", 3), ("information", 4)]
    assert parse_lean_axioms("'goal' depends on axioms: [propext, Quot.sound]") == [
        "propext",
        "Quot.sound",
    ]
    assert parse_lean_axioms("'goal' does not depend on any axioms") == []
    assert parse_lean_axioms("something else") is None
    assert frozenset({"propext", "Classical.choice", "Quot.sound"}) == LEAN_STANDARD_AXIOMS


@pytest.mark.skipif(
    shutil.which("lean") is None and not os.environ.get("SPENV_LEAN_PROJECT"),
    reason="no Lean 4 toolchain (install elan, or set SPENV_LEAN_PROJECT to a Lake project)",
)
def test_real_lean_check():
    checker = LeanChecker(timeout=300)
    ok = checker.check("∀ n : Nat, n + 0 = n", "intro n\nrfl")
    assert ok.status == "ok", ok.detail
    wrong = checker.check("∀ n : Nat, n + 1 = n", "intro n\nrfl")
    assert wrong.status == "wrong", wrong.detail
    cheat = checker.check("False", "exact absurd rfl (by decide : ¬ (1 = 1))")
    assert cheat.status == "wrong", cheat.detail
