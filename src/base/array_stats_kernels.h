/*
 * array_stats_kernels.h -- the loops of bmp_array_stats() for one element
 * type, included once per type by array_stats.c with
 *   KERNEL_T   the element type of the scratch copy (float or double)
 *   KERNEL(n)  the name `n` with the type's suffix
 * A template by inclusion rather than a macro per function: the loops
 * stay readable and a compiler error points at a real line.
 *
 * No NaN reaches these loops: the caller leaves them out of the copy.
 */

/* Sum in double, pairwise as NumPy sums: blocks of 128 on eight
 * accumulators (which the compiler vectorizes), halves added, so the
 * rounding error grows with log(n), not n. */
static double KERNEL(sum)(const KERNEL_T *x, size_t n)
{
    if (n <= 128) {
        double s[8] = {0};
        size_t i = 0;
        for (; i + 8 <= n; i += 8)
            for (size_t j = 0; j < 8; j++)
                s[j] += (double)x[i + j];
        double r = ((s[0] + s[1]) + (s[2] + s[3])) +
                   ((s[4] + s[5]) + (s[6] + s[7]));
        for (; i < n; i++)
            r += (double)x[i];
        return r;
    }
    size_t half = n / 2;
    half -= half % 8;
    return KERNEL(sum)(x, half) + KERNEL(sum)(x + half, n - half);
}

/* Pairwise sums of (x - mean) into *d1 and of its square into *d2.  d1 is
 * zero in exact arithmetic; what it is not corrects d2 for the rounding
 * of the mean (the corrected two-pass algorithm of Chan, Golub and
 * LeVeque). */
static void KERNEL(deviations)(const KERNEL_T *x, size_t n, double mean,
                               double *d1, double *d2)
{
    if (n <= 128) {
        double s[8] = {0}, q[8] = {0};
        size_t i = 0;
        for (; i + 8 <= n; i += 8)
            for (size_t j = 0; j < 8; j++) {
                double d = (double)x[i + j] - mean;
                s[j] += d;
                q[j] += d * d;
            }
        double r1 = ((s[0] + s[1]) + (s[2] + s[3])) +
                    ((s[4] + s[5]) + (s[6] + s[7]));
        double r2 = ((q[0] + q[1]) + (q[2] + q[3])) +
                    ((q[4] + q[5]) + (q[6] + q[7]));
        for (; i < n; i++) {
            double d = (double)x[i] - mean;
            r1 += d;
            r2 += d * d;
        }
        *d1 = r1;
        *d2 = r2;
        return;
    }
    size_t half = n / 2;
    half -= half % 8;
    double a1, a2, b1, b2;
    KERNEL(deviations)(x, half, mean, &a1, &a2);
    KERNEL(deviations)(x + half, n - half, mean, &b1, &b2);
    *d1 = a1 + b1;
    *d2 = a2 + b2;
}

static void KERNEL(min_max)(const KERNEL_T *x, size_t n, double *min,
                            double *max)
{
    KERNEL_T lo = x[0], hi = x[0];
    for (size_t i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    *min = lo;
    *max = hi;
}

static void KERNEL(swap)(KERNEL_T *v, size_t i, size_t j)
{
    KERNEL_T t = v[i];
    v[i] = v[j];
    v[j] = t;
}

static void KERNEL(insertion_sort)(KERNEL_T *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        KERNEL_T t = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > t; j--)
            v[j] = v[j - 1];
        v[j] = t;
    }
}

static void KERNEL(select)(KERNEL_T *v, size_t n, size_t k);

/* The index in v[0, n) of the median of the medians of groups of five:
 * a pivot with at least 3/10 of the values on either side, which keeps
 * selection O(n) however the values are arranged. */
static size_t KERNEL(median_of_medians)(KERNEL_T *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i += 5) {
        size_t len = n - i < 5 ? n - i : 5;
        KERNEL(insertion_sort)(v + i, len);
        KERNEL(swap)(v, m++, i + len / 2);
    }
    KERNEL(select)(v, m, m / 2);
    return m / 2;
}

/* Hoare's partition of v[lo, hi] around v[lo]: returns j with every value
 * of [lo, j] <= the pivot <= every value of [j + 1, hi], lo <= j < hi.
 * Values equal to the pivot go to both sides, so a range of equal values
 * (common in integer images) splits in the middle instead of degrading. */
static size_t KERNEL(partition)(KERNEL_T *v, size_t lo, size_t hi)
{
    KERNEL_T p = v[lo];
    size_t i = lo, j = hi;
    while (v[j] > p)
        j--;
    while (i < j) {
        KERNEL(swap)(v, i, j);
        do
            i++;
        while (v[i] < p);
        do
            j--;
        while (v[j] > p);
    }
    return j;
}

/* Reorders v[0, n) so that v[k] is the value a sort would put there, with
 * no larger value before it and no smaller one after.  Introselect:
 * median-of-three pivots while the ranges shrink as they should, medians
 * of medians after 2 log2(n) partitions, so O(n) in the worst case too. */
static void KERNEL(select)(KERNEL_T *v, size_t n, size_t k)
{
    if (n < 2)
        return;
    size_t lo = 0, hi = n - 1;
    int budget = 0;
    for (size_t m = n; m > 1; m /= 2)
        budget += 2;
    while (hi > lo) {
        if (hi - lo < 16) {
            KERNEL(insertion_sort)(v + lo, hi - lo + 1);
            return;
        }
        size_t pivot;
        if (budget-- > 0) {
            size_t mid = lo + (hi - lo) / 2;
            KERNEL_T a = v[lo], b = v[mid], c = v[hi];
            if (a < b)
                pivot = b < c ? mid : (a < c ? hi : lo);
            else
                pivot = a < c ? lo : (b < c ? hi : mid);
        } else {
            pivot = lo + KERNEL(median_of_medians)(v + lo, hi - lo + 1);
        }
        KERNEL(swap)(v, lo, pivot);
        size_t j = KERNEL(partition)(v, lo, hi);
        if (k <= j)
            hi = j;
        else
            lo = j + 1;
    }
}

/* The median, once select() has put the upper middle value at v[k]: that
 * value (`odd`), or its mean with the largest of the values before it. */
static double KERNEL(middle)(const KERNEL_T *v, size_t k, int odd)
{
    double upper = v[k];
    if (odd)
        return upper;
    KERNEL_T lower = v[0];
    for (size_t i = 1; i < k; i++)
        lower = v[i] > lower ? v[i] : lower;
    double mid = ((double)lower + upper) / 2;
    /* Two values near DBL_MAX overflow their sum; halves do not. */
    return isinf(mid) && isfinite(lower) && isfinite(upper)
               ? (double)lower / 2 + upper / 2
               : mid;
}

/* The median of v[0, n), n >= 1, by selection on the whole; reorders v. */
static double KERNEL(median_select)(KERNEL_T *v, size_t n)
{
    KERNEL(select)(v, n, n / 2);
    return KERNEL(middle)(v, n / 2, n % 2);
}

/* The median of v[0, n), n >= 1; reorders v.
 *
 * For large n, Floyd and Rivest's idea: two values p1 <= p2 taken from a
 * sample so that the middle ranks of v almost surely lie between them,
 * one pass that counts the values below p1 and moves those in [p1, p2]
 * to the front, and a selection among these few (about 6 / sqrt(SAMPLE)
 * of n).  The pass has no unpredictable branch and reads v once, where a
 * quickselect partitions it several times with a branch per element it
 * mispredicts half the time.  The pass swaps instead of overwriting, so
 * that v keeps its values; when the sample misled (a chance of about
 * 1e-8 on unordered data, or many values equal to p1 or p2), selection
 * over the whole is done instead. */
static double KERNEL(median)(KERNEL_T *v, size_t n)
{
    enum { SAMPLE = 16384, MARGIN = 3 * 128 /* 3 sqrt(SAMPLE) */ };
    if (n < 16 * SAMPLE)
        return KERNEL(median_select)(v, n);
    KERNEL_T *s = malloc(SAMPLE * sizeof *s);
    if (!s)
        return KERNEL(median_select)(v, n);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < SAMPLE; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        s[i] = v[(seed >> 11) % n];
    }
    size_t k = n / 2, lower_rank = n % 2 ? k : k - 1;
    size_t center = SAMPLE / 2;
    size_t j1 = center - MARGIN, j2 = center + MARGIN;
    KERNEL(select)(s, SAMPLE, j1);
    KERNEL(select)(s + j1, SAMPLE - j1, j2 - j1);
    KERNEL_T p1 = s[j1], p2 = s[j2];
    free(s);

    size_t below = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        KERNEL_T x = v[i], t = v[m];
        below += x < p1;
        v[m] = x;
        v[i] = t;
        m += (x >= p1) & (x <= p2);
    }
    if (below > lower_rank || below + m <= k)
        return KERNEL(median_select)(v, n);
    /* Ranks below, and k - below within the front; when n is even, the
     * lower middle value (rank k - 1 >= below) is there too. */
    KERNEL(select)(v, m, k - below);
    return KERNEL(middle)(v, k - below, n % 2);
}
