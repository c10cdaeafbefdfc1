; bbmcheck proof obligation: every address the root table maps is like a representative
; expected: unsat
(set-logic QF_BV)
(declare-fun a () (_ BitVec 64))
(assert
 (let (($x1237 (and (bvuge a (_ bv1073741824 64)) (bvult a (_ bv2147483648 64)))))
(let (($x1196 (and $x1237 (and (distinct (bvlshr (bvsub a (_ bv1073741824 64)) (_ bv21 64)) (_ bv0 64)) true) (and (distinct (bvlshr (bvsub a (_ bv1073741824 64)) (_ bv21 64)) (_ bv1 64)) true))))
(let (($x1184 (bvult a (_ bv549755813888 64))))
(let (($x776 (bvuge a (_ bv0 64))))
(let (($x1200 (and $x776 $x1184)))
(let (($x1161 (and $x1200 (= (bvlshr (bvsub a (_ bv0 64)) (_ bv30 64)) (_ bv1 64)))))
(let (($x1244 (and (and $x1200 (and (distinct (bvlshr (bvsub a (_ bv0 64)) (_ bv30 64)) (_ bv1 64)) true)) (not $x1237))))
(and $x776 $x1184 (not $x1244) (not (and $x1161 (and $x1237 (= (bvlshr (bvsub a (_ bv1073741824 64)) (_ bv21 64)) (_ bv0 64))))) (not (and $x1161 (and $x1237 (= (bvlshr (bvsub a (_ bv1073741824 64)) (_ bv21 64)) (_ bv1 64))))) (not (and $x1161 $x1196)))))))))))
(check-sat)
(exit)
