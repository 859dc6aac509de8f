"""The renovation project of a compound: its eight steps (成立组织 → 绩效评估), the
self-governing organisation, plan consultation and funding."""
