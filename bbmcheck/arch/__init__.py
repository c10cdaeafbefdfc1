"""The Arm architecture as data: descriptors, FEAT_BBM configuration, TLBI scopes, rules, classifier."""
