; Inv for address 0x40200000, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv ((app0_2 Bool) (pc Int) (tlb0_2 Bool) (vis0 Int) (walk0 Int) (wc0_0 Bool) (wc0_1 Bool)) Bool
  (and (or (not (>= pc 2)) (not (<= vis0 0)))
     (not (= walk0 7))
     (or (not wc0_1) (not (>= pc 4)))
     (or (not app0_2) (not tlb0_2))
     (or (not tlb0_2) (not (>= pc 4)))
     (or (not app0_2) (not wc0_1))
     (or wc0_1 (not (= walk0 9)))
     (or (not app0_2) (not wc0_0))
     (or (not (>= pc 4)) (not wc0_0) (not (>= vis0 1)))
     (or wc0_0 (not (= walk0 8)))
     (or (not app0_2) (not (<= vis0 0)))
     (or wc0_0 (not (= walk0 9)))))
