; Inv for address 0x40400000, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv ((tlb0_1 Bool)) Bool
  (not tlb0_1))
