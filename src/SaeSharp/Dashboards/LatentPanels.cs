using SaeSharp.Analysis;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Dashboards;

/// <summary>
/// Computes the dashboard's panels in bounded memory: one pass for every latent's density and maximum (to choose
/// latents and scale histograms), one for the chosen latents' running top-k rows and histograms, one for their
/// values on the context windows around those rows. Only <c>[B, S]</c> slices of the chosen S latents are held.
/// </summary>
internal static class LatentPanels
{
    public static (IReadOnlyList<LatentPanel> Panels, float[] MaxL, double[] ActiveL) Build(LatentDashboardInput input)
    {
        var options = input.Options;
        // Label scores of the same rows already hold every latent's density and maximum: one pass fewer.
        var (maxL, activeL) = input.Labels is { } labels
            ? (labels.Latents.Select(l => (float)l.MaxActivation).ToArray(), labels.Latents.Select(l => Math.Round(l.Density * labels.RowCount)).ToArray())
            : LabelScoring.MaximaAndActiveCounts(input.Latents);
        int[] chosen = Choose(input, maxL, activeL);
        if (chosen.Length == 0) return ([], maxL, activeL);

        float[] maxS = [.. chosen.Select(j => Math.Max(maxL[j], 0f))];
        var (topValuesSC, topRowsSC, histogramSH) = TopRowsAndHistograms(input, chosen, maxS);
        var contexts = Contexts(input, chosen, topValuesSC, topRowsSC);
        (TokenEffect[][] Promoted, TokenEffect[][] Suppressed)? effects = input.Logits is null ? null : LogitEffects(input.Logits, chosen, options.LogitTokens);

        var panels = new LatentPanel[chosen.Length];
        for (int s = 0; s < chosen.Length; s++)
        {
            int j = chosen[s];
            panels[s] = new LatentPanel(j, (long)activeL[j], maxL[j], histogramSH[s], contexts[s],
                effects?.Promoted[s] ?? [], effects?.Suppressed[s] ?? []);
        }
        return (panels, maxL, activeL);
    }

    private static int[] Choose(LatentDashboardInput input, float[] maxL, double[] activeL)
    {
        var options = input.Options;
        int latentCount = input.Latents.LatentCount;
        if (options.Latents is { } listed)
        {
            foreach (var j in listed)
                if (j < 0 || j >= latentCount)
                    throw new SaeSharpException($"latent {j} is not in [0, {latentCount})", field: "latents");
            return [.. listed.Distinct()];
        }
        var alive = Enumerable.Range(0, latentCount).Where(j => activeL[j] > 0);
        var ordered = options.Order switch
        {
            LatentOrder.Density => alive.OrderByDescending(j => activeL[j]).ThenBy(j => j),
            LatentOrder.LabelMatch => alive.OrderByDescending(j => input.Labels!.Latents[j].F1).ThenByDescending(j => activeL[j]).ThenBy(j => j),
            _ => throw new SaeSharpException($"unknown order {options.Order}", field: "order"),
        };
        return [.. ordered.Take(options.LatentCount)];
    }

    private static (float[][] TopValuesSC, long[][] TopRowsSC, long[][] HistogramSH) TopRowsAndHistograms(
        LatentDashboardInput input, int[] chosen, float[] maxS)
    {
        int s = chosen.Length, bins = input.Options.HistogramBins;
        long c = Math.Min(input.Options.ContextsPerLatent, input.Latents.RowCount);
        using var indexS = tensor(chosen.Select(j => (long)j).ToArray());
        using var tiny = 1e-30.ToScalar();
        using var maxS1 = tensor(maxS).clamp_min(tiny);
        using var binsScalar = ((double)bins).ToScalar();
        using var lastBin = ((long)(bins - 1)).ToScalar();
        using var binsCount = ((long)bins).ToScalar();
        using var offsetsS = arange(s, dtype: ScalarType.Int64).mul(binsCount);
        var topValuesCS = empty(0, s);
        var topRowsCS = zeros(0, s, dtype: ScalarType.Int64);
        var histogram = zeros(s * bins, dtype: ScalarType.Int64);
        try
        {
            foreach (var (start, batchBL) in input.Latents.Batches())
            {
                using var scope = NewDisposeScope();
                var valuesBS = batchBL.index_select(1, indexS);
                using var startScalar = start.ToScalar();
                var rowsBS = arange(valuesBS.shape[0], dtype: ScalarType.Int64).add_(startScalar, HeldScalars.One).unsqueeze(1).expand(valuesBS.shape);
                var candidatesValues = cat([topValuesCS, valuesBS], 0);
                var candidatesRows = cat([topRowsCS, rowsBS], 0);
                var (bestValues, bestIndex) = candidatesValues.topk((int)Math.Min(c, candidatesValues.shape[0]), dim: 0);
                var bestRows = candidatesRows.gather(0, bestIndex);
                topValuesCS.Dispose();
                topRowsCS.Dispose();
                topValuesCS = bestValues.DetachFromDisposeScope();
                topRowsCS = bestRows.DetachFromDisposeScope();

                // Bin b of latent s holds values in [b·max/bins, (b+1)·max/bins), the last bin also max; only positive values count.
                var positiveBS = valuesBS.gt(HeldScalars.Zero);
                var binBS = valuesBS.div(maxS1).mul(binsScalar).floor()
                    .clamp(HeldScalars.Zero, lastBin).to(ScalarType.Int64).add_(offsetsS, HeldScalars.One);
                histogram.add_(binBS.masked_select(positiveBS).bincount(null, s * bins), HeldScalars.One);
            }
            var valuesSC = topValuesCS.t().contiguous();
            var rowsSC = topRowsCS.t().contiguous();
            using (valuesSC)
            using (rowsSC)
            {
                var values = valuesSC.data<float>().ToArray();
                var rows = rowsSC.data<long>().ToArray();
                var counts = histogram.data<long>().ToArray();
                int k = (int)valuesSC.shape[1];
                return ([.. Enumerable.Range(0, s).Select(i => values[(i * k)..((i + 1) * k)])],
                        [.. Enumerable.Range(0, s).Select(i => rows[(i * k)..((i + 1) * k)])],
                        [.. Enumerable.Range(0, s).Select(i => counts[(i * bins)..((i + 1) * bins)])]);
            }
        }
        finally
        {
            topValuesCS.Dispose();
            topRowsCS.Dispose();
            histogram.Dispose();
        }
    }

    /// <summary>The windows around each latent's top rows (only rows where it fired), with its values on every window row.</summary>
    private static List<LatentContext>[] Contexts(LatentDashboardInput input, int[] chosen, float[][] topValuesSC, long[][] topRowsSC)
    {
        var options = input.Options;
        long rowCount = input.Latents.RowCount;
        var windows = new List<(int S, long Peak, float Value, long First, long Last)>();
        for (int s = 0; s < chosen.Length; s++)
            for (int i = 0; i < topRowsSC[s].Length; i++)
            {
                if (!(topValuesSC[s][i] > 0)) continue;
                long peak = topRowsSC[s][i], first = peak, last = peak;
                while (first > 0 && peak - first < options.TokensBefore && SameSequence(input, first - 1, peak)) first--;
                while (last < rowCount - 1 && last - peak < options.TokensAfter && SameSequence(input, last + 1, peak)) last++;
                windows.Add((s, peak, topValuesSC[s][i], first, last));
            }

        long[] needed = [.. windows.SelectMany(w => LongRange(w.First, w.Last)).Distinct().Order()];
        var position = new Dictionary<long, int>(needed.Length);
        for (int i = 0; i < needed.Length; i++) position[needed[i]] = i;
        var valuesRS = new float[needed.Length * chosen.Length];
        using (var indexS = tensor(chosen.Select(j => (long)j).ToArray()))
        {
            foreach (var (start, batchBL) in input.Latents.Batches())
            {
                long end = start + batchBL.shape[0];
                int lo = LowerBound(needed, start), hi = LowerBound(needed, end);
                if (lo == hi) continue;
                using var scope = NewDisposeScope();
                var local = tensor(needed[lo..hi].Select(r => r - start).ToArray());
                var picked = batchBL.index_select(0, local).index_select(1, indexS).contiguous();
                picked.data<float>().CopyTo(valuesRS, lo * chosen.Length);
            }
        }

        var contexts = new List<LatentContext>[chosen.Length];
        for (int s = 0; s < chosen.Length; s++) contexts[s] = [];
        foreach (var w in windows)
        {
            var values = new float[w.Last - w.First + 1];
            for (long r = w.First; r <= w.Last; r++) values[r - w.First] = valuesRS[position[r] * chosen.Length + w.S];
            contexts[w.S].Add(new LatentContext(w.Peak, w.Value, w.First, values));
        }
        return contexts;
    }

    private static (TokenEffect[][] Promoted, TokenEffect[][] Suppressed) LogitEffects(DashboardLogits logits, int[] chosen, int count)
    {
        var decoder = logits.DecoderLD;
        var unembedding = logits.UnembeddingVD;
        int k = (int)Math.Min(count, unembedding.shape[0]);
        var promoted = new TokenEffect[chosen.Length][];
        var suppressed = new TokenEffect[chosen.Length][];
        const int Chunk = 64; // [64, V] at a time: 13 MB for GPT-2's 50,257 tokens
        using var noGrad = no_grad();
        using var unembeddingDV = unembedding.detach().to(ScalarType.Float32).cpu().t().contiguous();
        for (int first = 0; first < chosen.Length; first += Chunk)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(Chunk, chosen.Length - first);
            var index = tensor(chosen[first..(first + n)].Select(j => (long)j).ToArray());
            var effectsSV = decoder.detach().to(ScalarType.Float32).cpu().index_select(0, index).matmul(unembeddingDV);
            if (!effectsSV.isfinite().all().item<bool>())
                throw new SaeSharpException("the decoder or the unembedding holds values that are not finite", field: "unembedding");
            var (top, topIndex) = effectsSV.topk(k, dim: 1);
            var (bottom, bottomIndex) = effectsSV.topk(k, dim: 1, largest: false);
            for (int i = 0; i < n; i++)
            {
                promoted[first + i] = Effects(logits, top[i], topIndex[i]);
                suppressed[first + i] = Effects(logits, bottom[i], bottomIndex[i]);
            }
        }
        return (promoted, suppressed);
    }

    private static TokenEffect[] Effects(DashboardLogits logits, Tensor values, Tensor indices)
    {
        var v = values.data<float>().ToArray();
        var ids = indices.data<long>().ToArray();
        return [.. ids.Select((id, i) => new TokenEffect(logits.DecodeToken((int)id), v[i]))];
    }

    private static bool SameSequence(LatentDashboardInput input, long row, long peak) =>
        input.SequenceIds is not { } ids || ids[(int)row] == ids[(int)peak];

    private static IEnumerable<long> LongRange(long first, long last)
    {
        for (long r = first; r <= last; r++) yield return r;
    }

    private static int LowerBound(long[] sorted, long value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < value) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
