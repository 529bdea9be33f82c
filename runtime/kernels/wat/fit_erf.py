"""fit_erf.py NP NQ: fits erf(x) ≈ x·P(x²)/Q(x²) on 0 ≤ x ≤ 3.925 (Q(0) = 1, NP and NQ
coefficients) for kernels.wat's gelu_erf, and prints the float64 and float32-evaluated errors and
the coefficients in x². Iteratively reweighted linear least squares (Lawson's weights) toward the
minimax fit, in the scaled variable t = (x/3.925)² that keeps the system well conditioned.
kernels.wat uses `fit_erf.py 6 6` (float64 1.6e-8, float32 evaluation 3.9e-7). Needs numpy and
scipy: tools/reference/.venv/bin/python fit_erf.py 6 6
"""
import numpy as np, sys
from scipy.special import erf
XMAX = 3.925
npc, nqc = int(sys.argv[1]), int(sys.argv[2])
x = np.linspace(0, XMAX, 40001)
t = (x/XMAX)**2          # scaled variable in [0,1]
f = erf(x)
w = np.ones_like(x); Q = np.ones_like(x)
best=None
for it in range(200):
    A = np.hstack([x[:,None]*t[:,None]**np.arange(npc), -(f[:,None]*t[:,None]**np.arange(1,nqc))])
    ww = np.sqrt(w)/Q
    coef, *_ = np.linalg.lstsq(A*ww[:,None], f*ww, rcond=None)
    p = coef[:npc]; q = np.concatenate([[1], coef[npc:]])
    Q = np.polyval(q[::-1], t)
    err = x*np.polyval(p[::-1], t)/Q - f
    m = np.abs(err).max()
    if best is None or m < best[0]: best=(m,p.copy(),q.copy(),Q.min())
    w = w*np.abs(err)/m; w = w/w.sum()*len(w); w = np.maximum(w,1e-12)
m,p,q,qmin=best
print("float64 max err", m, "Q min", qmin)
# rescale to s = x² : t = s/XMAX² -> coefficient k scaled by XMAX^-2k
sc = XMAX**-2.0
p_s = p*sc**np.arange(npc); q_s = q*sc**np.arange(nqc)
p32=p_s.astype(np.float32); q32=q_s.astype(np.float32)
xs=np.linspace(0,8,4000001).astype(np.float32); xc=np.minimum(xs,np.float32(XMAX))
s32=(xc*xc).astype(np.float32)
def horner(c,s):
    v=np.full_like(s,c[-1])
    for k in c[-2::-1]: v=(v*s+np.float32(k)).astype(np.float32)
    return v
e32=((xc*horner(p32,s32)).astype(np.float32)/horner(q32,s32)).astype(np.float32)
print("float32 max err", np.abs(e32.astype(np.float64)-erf(xs.astype(np.float64))).max())
print("P", [repr(float(v)) for v in p32]); print("Q", [repr(float(v)) for v in q32])
