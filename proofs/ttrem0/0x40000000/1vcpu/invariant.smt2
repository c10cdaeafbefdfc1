; Inv for address 0x40000000, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv ((app0_2 Bool) (pc Int) (tlb0_0 Bool) (tlb0_1 Bool) (vis0 Int) (walk0 Int) (wc0_0 Bool)) Bool
  (and (or (not app0_2) (not (= vis0 walk0)))
     (not (= walk0 1))
     (or (not tlb0_0) (not (>= vis0 1)) (not (>= walk0 2)))
     (or wc0_0 (not tlb0_1))
     (or (not tlb0_0) (not (<= vis0 1)))
     (or (not wc0_0) (not (>= pc 4)))
     (or (not app0_2) (not wc0_0))
     (or (not app0_2) (not (>= pc 4)))
     (or wc0_0 (not (= walk0 2)))
     (or (not (<= pc 5)) (not (>= vis0 2)))
     (or tlb0_1 (not (= vis0 walk0)) (not (>= pc 3)))
     (or (not (<= vis0 0)) (not (>= pc 2)))))
