; bbmcheck proof obligation: every address the root table maps is like a representative
; expected: unsat
(set-logic QF_BV)
(declare-fun a () (_ BitVec 64))
(assert
 (let (($x1928 (and (bvuge a (_ bv1073741824 64)) (bvult a (_ bv2147483648 64)))))
(let (($x1887 (and $x1928 (and (distinct (bvlshr (bvsub a (_ bv1073741824 64)) (_ bv21 64)) (_ bv0 64)) true) (and (distinct (bvlshr (bvsub a (_ bv1073741824 64)) (_ bv21 64)) (_ bv1 64)) true))))
(let (($x1812 (bvult a (_ bv549755813888 64))))
(let (($x1942 (bvuge a (_ bv0 64))))
(let (($x1901 (and $x1942 $x1812)))
(let (($x1939 (and $x1901 (= (bvlshr (bvsub a (_ bv0 64)) (_ bv30 64)) (_ bv1 64)))))
(let (($x1930 (and (and $x1901 (and (distinct (bvlshr (bvsub a (_ bv0 64)) (_ bv30 64)) (_ bv1 64)) true)) (not $x1928))))
(and $x1942 $x1812 (not $x1930) (not (and $x1939 (and $x1928 (= (bvlshr (bvsub a (_ bv1073741824 64)) (_ bv21 64)) (_ bv0 64))))) (not (and $x1939 (and $x1928 (= (bvlshr (bvsub a (_ bv1073741824 64)) (_ bv21 64)) (_ bv1 64))))) (not (and $x1939 $x1887)))))))))))
(check-sat)
(exit)
