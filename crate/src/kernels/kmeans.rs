//! Weighted 1-D k-means on sorted values, with prefix sums: after the
//! O(n log n) sort, kmeans++ seeding costs O(k (k + log n)) and each Lloyd
//! iteration O(k log n) (cluster boundaries are midpoints between sorted
//! centroids, found by binary search; cluster sums come from the prefix
//! sums). No O(n·k) loop anywhere.

/// How the first centroids are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// k-means++ (D² sampling), deterministic for a given seed.
    KMeansPlusPlus,
    /// Evenly spaced between the minimum and the maximum.
    Linear,
    /// At the quantiles of the (weighted) value distribution.
    Density,
    /// Uniformly random between the minimum and the maximum.
    Random,
}

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Prefix sums of weight, weight·value and weight·value² over sorted values.
struct Prefix {
    w: Vec<f64>,
    wv: Vec<f64>,
    wv2: Vec<f64>,
}

impl Prefix {
    fn new(values: &[f64], weights: Option<&[f64]>) -> Prefix {
        let n = values.len();
        let (mut w, mut wv, mut wv2) = (Vec::with_capacity(n + 1), Vec::with_capacity(n + 1), Vec::with_capacity(n + 1));
        let (mut a, mut b, mut c) = (0f64, 0f64, 0f64);
        w.push(0.0);
        wv.push(0.0);
        wv2.push(0.0);
        for (i, &v) in values.iter().enumerate() {
            let om = weights.map(|ws| ws[i].max(0.0)).unwrap_or(1.0);
            a += om;
            b += om * v;
            c += om * v * v;
            w.push(a);
            wv.push(b);
            wv2.push(c);
        }
        Prefix { w, wv, wv2 }
    }
    fn mass(&self, a: usize, b: usize) -> f64 {
        self.w[b] - self.w[a]
    }
    fn sum(&self, a: usize, b: usize) -> f64 {
        self.wv[b] - self.wv[a]
    }
    /// Σ ω (v - c)² over [a, b).
    fn sse(&self, a: usize, b: usize, c: f64) -> f64 {
        let s = (self.wv2[b] - self.wv2[a]) - 2.0 * c * self.sum(a, b) + c * c * self.mass(a, b);
        s.max(0.0)
    }
}

/// Start index of each cluster (plus `n` at the end) for sorted centroids:
/// values up to the midpoint go to the lower centroid.
fn cuts(values: &[f64], centroids: &[f64]) -> Vec<usize> {
    let mut c = Vec::with_capacity(centroids.len() + 1);
    c.push(0);
    for w in centroids.windows(2) {
        let mid = 0.5 * (w[0] + w[1]);
        c.push(values.partition_point(|&x| x <= mid));
    }
    c.push(values.len());
    c
}

/// Result of clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct Clusters {
    /// Sorted, distinct centroids (at most k).
    pub centroids: Vec<f64>,
    pub iterations: usize,
}

impl Clusters {
    /// Index of the nearest centroid (ties to the lower one), O(log k).
    pub fn nearest(&self, v: f64) -> usize {
        let c = &self.centroids;
        // First centroid whose midpoint with its successor is >= v.
        let mut lo = 0usize;
        let mut hi = c.len() - 1;
        while lo < hi {
            let mid = (lo + hi) / 2;
            if v <= 0.5 * (c[mid] + c[mid + 1]) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }
}

/// Weighted k-means of `values` (sorted ascending, finite) with optional
/// non-negative `weights`. Returns at most `k` sorted distinct centroids
/// (fewer when there are fewer distinct values).
pub fn kmeans_sorted(values: &[f64], weights: Option<&[f64]>, k: usize, init: Init, seed: u64, max_iter: usize) -> Clusters {
    kmeans_pinned(values, weights, k, init, seed, max_iter, &[])
}

/// As [`kmeans_sorted`], with some centroids fixed in advance (`pinned`,
/// counted in `k`, never moved): e.g. the ends of a normalized range.
pub fn kmeans_pinned(values: &[f64], weights: Option<&[f64]>, k: usize, init: Init, seed: u64, max_iter: usize, pinned: &[f64]) -> Clusters {
    let n = values.len();
    if n == 0 || k == 0 {
        return Clusters { centroids: Vec::new(), iterations: 0 };
    }
    let mut pinned: Vec<f64> = pinned.to_vec();
    pinned.sort_by(|a, b| a.total_cmp(b));
    pinned.dedup();
    pinned.truncate(k);
    let is_pinned = |x: f64| pinned.contains(&x);
    debug_assert!(values.windows(2).all(|w| w[0] <= w[1]));
    // Few distinct values: each is its own centroid.
    let mut distinct = Vec::new();
    for &v in values {
        if distinct.last() != Some(&v) {
            distinct.push(v);
            if distinct.len() > k {
                break;
            }
        }
    }
    if distinct.len() <= k && pinned.is_empty() {
        return Clusters { centroids: distinct, iterations: 0 };
    }
    let p = Prefix::new(values, weights);
    let (lo, hi) = (values[0], values[n - 1]);
    let mut rng = Rng::new(seed);
    let free = k - pinned.len();
    let mut c: Vec<f64> = match init {
        _ if free == 0 => Vec::new(),
        Init::Linear => (0..free).map(|i| lo + (hi - lo) * (i as f64 + if pinned.is_empty() { 0.0 } else { 0.5 }) / (free - if pinned.is_empty() { 1 } else { 0 }).max(1) as f64).collect(),
        Init::Random => (0..free).map(|_| lo + (hi - lo) * rng.next_f64()).collect(),
        Init::Density => {
            let total = p.w[n];
            if total > 0.0 {
                (0..free)
                    .map(|i| {
                        let target = total * (i as f64 + 0.5) / free as f64;
                        let idx = p.w.partition_point(|&x| x <= target).saturating_sub(1).min(n - 1);
                        values[idx]
                    })
                    .collect()
            } else {
                (0..free).map(|i| values[(i * (n - 1)) / (free - 1).max(1)]).collect()
            }
        }
        Init::KMeansPlusPlus => plus_plus(values, &p, k, &mut rng, &pinned),
    };
    c.extend(pinned.iter().copied());
    c.sort_by(|a, b| a.total_cmp(b));
    c.dedup();
    // Lloyd iterations on cluster sums.
    let mut iterations = 0;
    let mut prev: Vec<usize> = Vec::new();
    let mut reseeds = 0;
    while iterations < max_iter {
        iterations += 1;
        let cut = cuts(values, &c);
        if cut == prev {
            break;
        }
        let mut next = Vec::with_capacity(c.len());
        let mut empty = 0;
        for j in 0..c.len() {
            let (a, b) = (cut[j], cut[j + 1]);
            let m = p.mass(a, b);
            if is_pinned(c[j]) {
                next.push(c[j]);
            } else if b > a && m > 0.0 {
                next.push(p.sum(a, b) / m);
            } else if b > a {
                next.push(0.5 * (values[a] + values[b - 1]));
            } else {
                empty += 1;
            }
        }
        // Empty clusters: re-seed at the value farthest from its centroid
        // (an end of some cluster), a bounded number of times.
        if (empty > 0 || next.len() < k) && reseeds < 4 * k {
            let cut2 = {
                let mut s = next.clone();
                s.sort_by(|a, b| a.total_cmp(b));
                s.dedup();
                next = s;
                cuts(values, &next)
            };
            let missing = k - next.len();
            let mut add = Vec::new();
            for _ in 0..missing {
                let mut best = (0.0f64, None);
                for j in 0..next.len() {
                    let (a, b) = (cut2[j], cut2[j + 1]);
                    if b <= a {
                        continue;
                    }
                    for &i in &[a, b - 1] {
                        let wgt = weights.map(|w| w[i]).unwrap_or(1.0);
                        let d = wgt * (values[i] - next[j]).powi(2);
                        if d > best.0 && !next.contains(&values[i]) && !add.contains(&values[i]) {
                            best = (d, Some(values[i]));
                        }
                    }
                }
                if let Some(v) = best.1 {
                    add.push(v);
                }
                reseeds += 1;
            }
            next.extend(add);
            prev.clear();
        } else {
            prev = cut;
        }
        next.sort_by(|a, b| a.total_cmp(b));
        next.dedup();
        c = next;
    }
    // Drop centroids that own no value (pinned ones stay).
    let cut = cuts(values, &c);
    let centroids: Vec<f64> = (0..c.len()).filter(|&j| cut[j + 1] > cut[j] || is_pinned(c[j])).map(|j| c[j]).collect();
    Clusters { centroids, iterations }
}

/// k-means++ seeding in O(k (k + log n)): the D² mass of each Voronoi cell
/// of the chosen centroids comes from the prefix sums, and the sampled
/// point inside a cell is found by binary search on its cumulative mass.
fn plus_plus(values: &[f64], p: &Prefix, k: usize, rng: &mut Rng, pinned: &[f64]) -> Vec<f64> {
    let n = values.len();
    let total = p.w[n];
    let pick_by_mass = |rng: &mut Rng| -> usize {
        if total <= 0.0 {
            return (rng.next_f64() * n as f64) as usize % n;
        }
        let t = rng.next_f64() * total;
        p.w.partition_point(|&x| x <= t).saturating_sub(1).min(n - 1)
    };
    let mut c = if pinned.is_empty() { vec![values[pick_by_mass(rng)]] } else { pinned.to_vec() };
    while c.len() < k {
        c.sort_by(|a, b| a.total_cmp(b));
        let cut = cuts(values, &c);
        let masses: Vec<f64> = (0..c.len()).map(|j| p.sse(cut[j], cut[j + 1], c[j])).collect();
        let sum: f64 = masses.iter().sum();
        if sum <= 0.0 {
            break; // every value sits on a centroid
        }
        let mut t = rng.next_f64() * sum;
        let mut j = 0;
        while j + 1 < masses.len() && t >= masses[j] {
            t -= masses[j];
            j += 1;
        }
        let (a, b) = (cut[j], cut[j + 1]);
        let cj = c[j];
        // Smallest i in (a, b] whose cumulative mass over [a, i) exceeds t.
        let (mut lo, mut hi) = (a + 1, b);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if p.sse(a, mid, cj) > t {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let v = values[(lo - 1).min(n - 1).max(a)];
        if c.contains(&v) {
            // Numerical corner: take the cell's farthest end instead.
            let far = if (values[a] - cj).abs() >= (values[b - 1] - cj).abs() { values[a] } else { values[b - 1] };
            if c.contains(&far) {
                break;
            }
            c.push(far);
        } else {
            c.push(v);
        }
    }
    c.retain(|x| !pinned.contains(x));
    c
}

/// Entropy-constrained refinement of a clustering (ECVQ): each value goes
/// to the cluster minimizing `ω (v - c)² / D + λ · (-log2 p)`, where `p` is
/// the cluster's share of all values (counts, so the cost is the bits an
/// entropy coder spends on the code) and `D` the mean weighted squared
/// error of the starting clustering; centroids are then the weighted means
/// of their members. Clusters that lose every member disappear, so fewer
/// and more unequal clusters trade a little error for a smaller file.
///
/// `values` sorted; `pinned` centroids never move; `fixed` are extra
/// (centroid, count) clusters whose members are not in `values` (e.g. the
/// preserved zeros) but count in the shares and may receive values.
/// Returns the centroids and, per value, the index of its centroid. Cost:
/// O(n) per iteration (a few candidate clusters per value), no O(n·k).
pub fn entropy_refine(
    values: &[f64],
    weights: Option<&[f64]>,
    start: &[f64],
    pinned: &[f64],
    fixed: &[(f64, usize)],
    lambda: f64,
    iterations: usize,
) -> (Vec<f64>, Vec<usize>) {
    let n = values.len();
    let w = |i: usize| weights.map(|w| w[i].max(0.0)).unwrap_or(1.0);
    let mut c: Vec<f64> = start.to_vec();
    for &(f, _) in fixed {
        if !c.contains(&f) {
            c.push(f);
        }
    }
    c.sort_by(|a, b| a.total_cmp(b));
    c.dedup();
    let nearest = |c: &[f64], v: f64| -> usize {
        let (mut lo, mut hi) = (0usize, c.len() - 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if v <= 0.5 * (c[mid] + c[mid + 1]) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    };
    let mut assign: Vec<usize> = values.iter().map(|&v| nearest(&c, v)).collect();
    if n == 0 || c.is_empty() {
        return (c, assign);
    }
    // Scale of the distortion term: mean weighted error of the start.
    let (mut num, mut den) = (0f64, 0f64);
    for (i, &v) in values.iter().enumerate() {
        num += w(i) * (v - c[assign[i]]).powi(2);
        den += 1.0;
    }
    let d = (num / den).max(f64::MIN_POSITIVE);
    let total = (n + fixed.iter().map(|f| f.1).sum::<usize>()) as f64;
    for _ in 0..iterations {
        // Code lengths from the current shares.
        let mut count = vec![0usize; c.len()];
        for &a in &assign {
            count[a] += 1;
        }
        for &(f, k) in fixed {
            if let Some(j) = c.iter().position(|&x| x == f) {
                count[j] += k;
            }
        }
        let bits: Vec<f64> = count.iter().map(|&k| if k > 0 { -(k as f64 / total).log2() } else { f64::INFINITY }).collect();
        let lam: Vec<f64> = bits.iter().map(|b| lambda * b).collect();
        let lam_min = lam.iter().cloned().fold(f64::INFINITY, f64::min);
        let mut changed = 0usize;
        for (i, &v) in values.iter().enumerate() {
            let j0 = nearest(&c, v);
            if c[j0] == v && pinned.contains(&v) {
                // A value on a pinned centroid stays there (e.g. a channel's
                // largest weight, which fixes the channel's scale).
                if assign[i] != j0 {
                    changed += 1;
                    assign[i] = j0;
                }
                continue;
            }
            let wi = w(i) / d;
            let mut best = (wi * (v - c[j0]).powi(2) + lam[j0], j0);
            for j in (0..j0).rev() {
                let dd = wi * (v - c[j]).powi(2);
                if dd + lam_min >= best.0 {
                    break;
                }
                if dd + lam[j] < best.0 {
                    best = (dd + lam[j], j);
                }
            }
            for j in j0 + 1..c.len() {
                let dd = wi * (v - c[j]).powi(2);
                if dd + lam_min >= best.0 {
                    break;
                }
                if dd + lam[j] < best.0 {
                    best = (dd + lam[j], j);
                }
            }
            if best.1 != assign[i] {
                changed += 1;
                assign[i] = best.1;
            }
        }
        // New centroids (pinned and fixed ones stay), drop empty clusters.
        let mut sw = vec![0f64; c.len()];
        let mut swv = vec![0f64; c.len()];
        let mut cnt = vec![0usize; c.len()];
        for (i, &v) in values.iter().enumerate() {
            let a = assign[i];
            sw[a] += w(i);
            swv[a] += w(i) * v;
            cnt[a] += 1;
        }
        let keep_fixed = |x: f64| pinned.contains(&x) || fixed.iter().any(|f| f.0 == x);
        let mut map = vec![usize::MAX; c.len()];
        let mut next = Vec::with_capacity(c.len());
        for j in 0..c.len() {
            if keep_fixed(c[j]) {
                map[j] = next.len();
                next.push(c[j]);
            } else if cnt[j] > 0 {
                map[j] = next.len();
                next.push(if sw[j] > 0.0 { swv[j] / sw[j] } else { c[j] });
            }
        }
        for a in assign.iter_mut() {
            *a = map[*a];
        }
        // Keep the order sorted (means of ordered clusters stay ordered in
        // practice; re-sort to be safe).
        let mut order: Vec<usize> = (0..next.len()).collect();
        order.sort_by(|&a, &b| next[a].total_cmp(&next[b]));
        let mut inv = vec![0usize; next.len()];
        for (new, &old) in order.iter().enumerate() {
            inv[old] = new;
        }
        c = order.iter().map(|&o| next[o]).collect();
        for a in assign.iter_mut() {
            *a = inv[*a];
        }
        // Settled: (almost) nobody moves any more.
        if changed * 10_000 <= n {
            break;
        }
    }
    (c, assign)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_sse(values: &[f64], c: &[f64]) -> f64 {
        values.iter().map(|&v| c.iter().map(|&x| (v - x).powi(2)).fold(f64::INFINITY, f64::min)).sum()
    }

    #[test]
    fn separated_groups_are_found() {
        let mut v: Vec<f64> = Vec::new();
        for g in 0..4 {
            for i in 0..50 {
                v.push(g as f64 * 10.0 + (i as f64) * 0.01);
            }
        }
        v.sort_by(|a, b| a.total_cmp(b));
        for init in [Init::KMeansPlusPlus, Init::Linear, Init::Density, Init::Random] {
            let c = kmeans_sorted(&v, None, 4, init, 7, 100);
            assert_eq!(c.centroids.len(), 4, "{init:?}");
            for (g, &x) in c.centroids.iter().enumerate() {
                assert!((x - (g as f64 * 10.0 + 0.245)).abs() < 1e-9, "{init:?} {:?}", c.centroids);
            }
        }
    }

    #[test]
    fn few_distinct_values_are_kept() {
        let v = [1.0, 1.0, 2.0, 3.0, 3.0];
        assert_eq!(kmeans_sorted(&v, None, 8, Init::KMeansPlusPlus, 0, 10).centroids, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn lloyd_lowers_the_error_and_nearest_is_exact() {
        let mut rng = Rng::new(3);
        let mut v: Vec<f64> = (0..5000).map(|_| (rng.next_f64() - 0.5).powi(3)).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        let lin = kmeans_sorted(&v, None, 16, Init::Linear, 0, 0);
        let fit = kmeans_sorted(&v, None, 16, Init::Linear, 0, 200);
        assert!(brute_sse(&v, &fit.centroids) < brute_sse(&v, &lin.centroids));
        for &x in v.iter().step_by(37) {
            let j = fit.nearest(x);
            let best = fit.centroids.iter().map(|&c| (x - c).abs()).fold(f64::INFINITY, f64::min);
            assert!(((x - fit.centroids[j]).abs() - best).abs() < 1e-15);
        }
        let pp = kmeans_sorted(&v, None, 16, Init::KMeansPlusPlus, 1, 200);
        assert_eq!(pp.centroids.len(), 16);
        assert_eq!(pp, kmeans_sorted(&v, None, 16, Init::KMeansPlusPlus, 1, 200), "deterministic");
    }

    #[test]
    fn entropy_refinement_lowers_the_entropy() {
        let mut rng = Rng::new(5);
        // Laplacian-like values.
        let mut v: Vec<f64> = (0..20000).map(|_| { let u = rng.next_f64() - 0.5; -u.signum() * (1.0 - 2.0 * u.abs()).max(1e-12).ln() }).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        let km = kmeans_sorted(&v, None, 16, Init::KMeansPlusPlus, 0, 100);
        let entropy = |assign: &[usize], k: usize| {
            let mut c = vec![0f64; k];
            for &a in assign { c[a] += 1.0; }
            c.iter().filter(|&&x| x > 0.0).map(|&x| { let p = x / assign.len() as f64; -p * p.log2() }).sum::<f64>()
        };
        let (c0, a0) = entropy_refine(&v, None, &km.centroids, &[], &[], 0.0, 20);
        let (c1, a1) = entropy_refine(&v, None, &km.centroids, &[], &[], 2.0, 50);
        assert!(c1.len() <= 16 && c0.len() == 16);
        assert!(entropy(&a1, c1.len()) < entropy(&a0, c0.len()) - 0.2, "{} vs {}", entropy(&a1, c1.len()), entropy(&a0, c0.len()));
        // Fixed clusters stay where they are.
        let (c2, _) = entropy_refine(&v, None, &km.centroids, &[], &[(0.0, 5000)], 0.5, 20);
        assert!(c2.contains(&0.0));
    }

    #[test]
    fn weights_pull_centroids() {
        let v = [0.0, 1.0, 2.0, 10.0];
        let w = [1.0, 1.0, 100.0, 1.0];
        let c = kmeans_sorted(&v, Some(&w), 2, Init::Linear, 0, 50);
        assert_eq!(c.centroids.len(), 2);
        assert!(c.centroids[0] > 1.9 && c.centroids[0] < 2.0, "{:?}", c.centroids);
    }
}
