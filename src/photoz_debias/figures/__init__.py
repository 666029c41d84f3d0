"""One plotting function per figure of Lin et al. 2022 (A&A 662, A36)."""
