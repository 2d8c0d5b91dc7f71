(* The seed library of spenv's ConjectureProve-v1 game, from library.jsonl.
   Compile with: coqc -Q . SpenvConj Library.v *)
From Coq Require Import Arith Bool List Lia.
Import ListNotations.

Fixpoint double (n : nat) : nat :=
  match n with
  | 0 => 0
  | S k => S (S (double k))
  end.

Fixpoint sum (l : list nat) : nat :=
  match l with
  | [] => 0
  | x :: t => x + sum t
  end.

Create HintDb library.

Lemma add_0_r : forall (n : nat), n + 0 = n.
Proof.
  intros n. induction n as [|n IH]; simpl; [reflexivity | rewrite IH; reflexivity].
Qed.

Lemma add_0_l : forall (n : nat), 0 + n = n.
Proof.
  intros n. reflexivity.
Qed.

Lemma add_succ_r : forall (n : nat) (m : nat), n + S m = S (n + m).
Proof.
  intros n m. induction n as [|n IH]; simpl; [reflexivity | rewrite IH; reflexivity].
Qed.

Lemma add_comm : forall (n : nat) (m : nat), n + m = m + n.
Proof.
  intros; lia.
Qed.

Lemma add_assoc : forall (n : nat) (m : nat) (p : nat), n + m + p = n + (m + p).
Proof.
  intros; lia.
Qed.

Lemma mul_1_r : forall (n : nat), n * 1 = n.
Proof.
  intros; lia.
Qed.

Lemma mul_0_r : forall (n : nat), n * 0 = 0.
Proof.
  intros n. induction n as [|n IH]; simpl; auto.
Qed.

Lemma mul_comm : forall (n : nat) (m : nat), n * m = m * n.
Proof.
  intros; lia.
Qed.

Lemma mul_succ_r : forall (n : nat) (m : nat), n * S m = n * m + n.
Proof.
  intros; lia.
Qed.

Lemma mul_add_distr_l : forall (n : nat) (m : nat) (p : nat), n * (m + p) = n * m + n * p.
Proof.
  intros; lia.
Qed.

Lemma sub_diag : forall (n : nat), n - n = 0.
Proof.
  intros; lia.
Qed.

Lemma add_sub_cancel : forall (n : nat) (m : nat), n + m - m = n.
Proof.
  intros; lia.
Qed.

Lemma le_refl_nat : forall (n : nat), n <= n.
Proof.
  intros n. apply le_n.
Qed.

Lemma le_add_r : forall (n : nat) (m : nat), n <= n + m.
Proof.
  intros; lia.
Qed.

Lemma lt_succ_diag : forall (n : nat), n < S n.
Proof.
  intros n. unfold lt. apply le_n.
Qed.

Lemma succ_neq_zero : forall (n : nat), S n <> 0.
Proof.
  intros n H. discriminate H.
Qed.

Lemma min_le_l : forall (n : nat) (m : nat), min n m <= n.
Proof.
  intros; lia.
Qed.

Lemma max_comm_nat : forall (n : nat) (m : nat), max n m = max m n.
Proof.
  intros; lia.
Qed.

Lemma double_add : forall (n : nat), double n = n + n.
Proof.
  intros n. induction n as [|n IH]; simpl; [reflexivity | rewrite IH; lia].
Qed.

Lemma double_mul_2 : forall (n : nat), double n = 2 * n.
Proof.
  intros n. rewrite double_add. lia.
Qed.

Lemma app_nil_r : forall (l : list nat), l ++ [] = l.
Proof.
  intros l. induction l as [|x l IH]; simpl; [reflexivity | rewrite IH; reflexivity].
Qed.

Lemma app_nil_l : forall (l : list nat), [] ++ l = l.
Proof.
  intros l. reflexivity.
Qed.

Lemma app_assoc_nat : forall (l1 : list nat) (l2 : list nat) (l3 : list nat), (l1 ++ l2) ++ l3 = l1 ++ l2 ++ l3.
Proof.
  intros l1 l2 l3. induction l1 as [|x l1 IH]; simpl; [reflexivity | rewrite IH; reflexivity].
Qed.

Lemma length_cons : forall (x : nat) (l : list nat), length (x :: l) = S (length l).
Proof.
  intros x l. reflexivity.
Qed.

Lemma length_app : forall (l1 : list nat) (l2 : list nat), length (l1 ++ l2) = length l1 + length l2.
Proof.
  intros l1 l2. induction l1 as [|x l1 IH]; simpl; [reflexivity | rewrite IH; reflexivity].
Qed.

Lemma rev_app : forall (l1 : list nat) (l2 : list nat), rev (l1 ++ l2) = rev l2 ++ rev l1.
Proof.
  intros l1 l2. induction l1 as [|x l1 IH]; simpl.
- rewrite app_nil_r. reflexivity.
- rewrite IH. rewrite app_assoc_nat. reflexivity.
Qed.

Lemma rev_rev : forall (l : list nat), rev (rev l) = l.
Proof.
  intros l. induction l as [|x l IH]; simpl; [reflexivity | rewrite rev_app; simpl; rewrite IH; reflexivity].
Qed.

Lemma length_rev : forall (l : list nat), length (rev l) = length l.
Proof.
  intros l. induction l as [|x l IH]; simpl; [reflexivity | rewrite length_app; simpl; rewrite IH; lia].
Qed.

Lemma length_map : forall (f : nat -> nat) (l : list nat), length (map f l) = length l.
Proof.
  intros f l. induction l as [|x l IH]; simpl; [reflexivity | rewrite IH; reflexivity].
Qed.

Lemma map_app_nat : forall (f : nat -> nat) (l1 : list nat) (l2 : list nat), map f (l1 ++ l2) = map f l1 ++ map f l2.
Proof.
  intros f l1 l2. induction l1 as [|x l1 IH]; simpl; [reflexivity | rewrite IH; reflexivity].
Qed.

Lemma length_repeat : forall (x : nat) (n : nat), length (repeat x n) = n.
Proof.
  intros x n. induction n as [|n IH]; simpl; [reflexivity | rewrite IH; reflexivity].
Qed.

Lemma in_app_iff_nat : forall (x : nat) (l1 : list nat) (l2 : list nat), In x (l1 ++ l2) <-> In x l1 \/ In x l2.
Proof.
  intros x l1 l2. apply in_app_iff.
Qed.

Lemma sum_app : forall (l1 : list nat) (l2 : list nat), sum (l1 ++ l2) = sum l1 + sum l2.
Proof.
  intros l1 l2. induction l1 as [|x l1 IH]; simpl; [reflexivity | rewrite IH; lia].
Qed.

Lemma sum_rev : forall (l : list nat), sum (rev l) = sum l.
Proof.
  intros l. induction l as [|x l IH]; simpl; [reflexivity | rewrite sum_app; simpl; rewrite IH; lia].
Qed.

Lemma negb_negb : forall (b : bool), negb (negb b) = b.
Proof.
  intros b. destruct b; reflexivity.
Qed.

Lemma andb_comm_b : forall (a : bool) (b : bool), andb a b = andb b a.
Proof.
  intros a b. destruct a, b; reflexivity.
Qed.

Lemma orb_comm_b : forall (a : bool) (b : bool), orb a b = orb b a.
Proof.
  intros a b. destruct a, b; reflexivity.
Qed.

Lemma andb_true_r_b : forall (b : bool), andb b true = b.
Proof.
  intros b. destruct b; reflexivity.
Qed.

Lemma orb_false_r_b : forall (b : bool), orb b false = b.
Proof.
  intros b. destruct b; reflexivity.
Qed.

Lemma andb_negb_r_b : forall (b : bool), andb b (negb b) = false.
Proof.
  intros b. destruct b; reflexivity.
Qed.

Lemma orb_negb_r_b : forall (b : bool), orb b (negb b) = true.
Proof.
  intros b. destruct b; reflexivity.
Qed.

Lemma negb_andb_b : forall (a : bool) (b : bool), negb (andb a b) = orb (negb a) (negb b).
Proof.
  intros a b. destruct a, b; reflexivity.
Qed.

Lemma eqb_refl_nat : forall (n : nat), Nat.eqb n n = true.
Proof.
  intros n. induction n as [|n IH]; simpl; auto.
Qed.

Lemma leb_refl_nat : forall (n : nat), Nat.leb n n = true.
Proof.
  intros n. induction n as [|n IH]; simpl; auto.
Qed.

Global Hint Resolve add_0_r add_0_l add_succ_r add_comm add_assoc mul_1_r : library.
Global Hint Resolve mul_0_r mul_comm mul_succ_r mul_add_distr_l sub_diag add_sub_cancel : library.
Global Hint Resolve le_refl_nat le_add_r lt_succ_diag succ_neq_zero min_le_l max_comm_nat : library.
Global Hint Resolve double_add double_mul_2 app_nil_r app_nil_l app_assoc_nat length_cons : library.
Global Hint Resolve length_app rev_app rev_rev length_rev length_map map_app_nat : library.
Global Hint Resolve length_repeat in_app_iff_nat sum_app sum_rev negb_negb andb_comm_b : library.
Global Hint Resolve orb_comm_b andb_true_r_b orb_false_r_b andb_negb_r_b orb_negb_r_b negb_andb_b : library.
Global Hint Resolve eqb_refl_nat leb_refl_nat : library.
