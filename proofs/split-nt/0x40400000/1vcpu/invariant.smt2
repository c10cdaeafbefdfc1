; Inv for address 0x40400000, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv ((ci Int) (tlb0_1 Bool)) Bool
  (or (not tlb0_1) (not (<= ci 1))))
