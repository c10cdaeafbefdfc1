; Inv for address 0x40400000, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv ((app0_2 Bool) (app0_7 Bool) (ci Int) (pc Int) (tlb0_1 Bool) (vis0 Int) (walk0 Int) (wc0_0 Bool)) Bool
  (and (or (not app0_7) (not (<= vis0 0)))
     (or (not tlb0_1) (not (<= ci 0)))
     (or (not wc0_0) (not (>= pc 9)))
     (or (not app0_7) (not (>= pc 9)))
     (or (not app0_7) (not wc0_0))
     (or (not (>= pc 9)) (= vis0 2))
     (or (not app0_2) (not (>= pc 9)))
     (or wc0_0 (not (= walk0 2)))
     (or (not (<= vis0 0)) (not (>= pc 7)))))
