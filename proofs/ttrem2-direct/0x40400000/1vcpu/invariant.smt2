; Inv for address 0x40400000, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv ((app0_2 Bool) (pc Int) (tlb0_0 Bool) (vis0 Int) (walk0 Int) (wc0_0 Bool)) Bool
  (and (or (not (>= pc 2)) (= vis0 1))
     (or (not app0_2) (not (>= pc 4)))
     (or wc0_0 (not (= walk0 2)))
     (or (not wc0_0) (not (>= pc 4)) (not (>= vis0 1)))
     (or (not app0_2) (not wc0_0) (not (>= vis0 1)))
     (or (not app0_2) (not (<= vis0 0)))
     (or (not app0_2) (not tlb0_0) (not (>= walk0 2)))
     (or (not tlb0_0) (not (>= walk0 2)) (not (>= pc 4)))))
