; Inv for address 0x40201000, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv ((app0_2 Bool) (pc Int) (tlb0_0 Bool) (vis0 Int) (walk0 Int) (wc0_0 Bool) (wc0_1 Bool)) Bool
  (and (or (not app0_2) (not (<= vis0 0)))
     (not (= walk0 10))
     (or wc0_1 (not (= walk0 12)))
     (or wc0_0 (not (= walk0 11)))
     (or (not wc0_0) (not (>= pc 4)))
     (or (not app0_2) (not (>= pc 4)))
     (or wc0_0 (not wc0_1))
     (or (not app0_2) (not (>= vis0 1)) (not wc0_0))
     (or (not app0_2) (not (>= walk0 12)) (not tlb0_0))
     (or (not (>= walk0 12)) (not tlb0_0) (not (>= pc 4)))
     (or (not (<= vis0 0)) (not (>= pc 2)))))
