; Inv for address 0x40200000, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv ((app0_2 Bool) (pc Int) (tlb0_0 Bool) (tlb0_1 Bool) (vis0 Int) (walk0 Int) (wc0_0 Bool) (wc0_1 Bool)) Bool
  (and (or (not (<= vis0 0)) (not (>= pc 2)))
     (or wc0_0 (not (>= walk0 2)))
     (or wc0_1 (not (>= walk0 3)))
     (or (not app0_2) (not wc0_0))
     (or tlb0_0 tlb0_1 (not wc0_1) (not (<= walk0 0)))
     (or wc0_0 (not wc0_1))
     (or (not wc0_0) (not (>= pc 4)) (not (>= vis0 1)))
     (or (not app0_2) (not (>= pc 4)))
     (or (not app0_2) (not (<= vis0 0)))))
