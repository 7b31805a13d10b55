"""sincvae: invert sinusoidal maps of straight lines with a conditional VAE.

Tensors inside the library are channel-first: a batch of lines is ``(B, 2, L)``
with channel 0 = x0 and channel 1 = x1 (for y: y1, y2). Files on disk keep the
original study's layout ``(N, 1, L, 2)``; :mod:`sincvae.problem.data` converts at the boundary.
"""
