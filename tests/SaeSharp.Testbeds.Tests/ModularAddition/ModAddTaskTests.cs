using SaeSharp.Hosts;
using SaeSharp.Testbeds.ModularAddition;

namespace SaeSharp.Testbeds.Tests.ModularAddition;

[Collection("Torch")]
public sealed class ModAddTaskTests
{
    [Fact]
    public void Split_IsSeededDisjointAndComplete()
    {
        var (train, test) = ModAddTask.Split(113, 0.3, seed: 7);
        var (train2, _) = ModAddTask.Split(113, 0.3, seed: 7);
        var (train3, _) = ModAddTask.Split(113, 0.3, seed: 8);
        Assert.Equal(3831, train.Length); // round(0.3 · 12769)
        Assert.Equal(113 * 113, train.Concat(test).Distinct().Count());
        Assert.Equal(train, train2);
        Assert.NotEqual(train, train3);
    }

    [Fact]
    public void AllInputs_AndLabels_EncodeAPlusBModP()
    {
        using var inputs = ModAddTask.AllInputs(7);
        using var labels = ModAddTask.AllLabels(7);
        long row = 3 * 7 + 5;
        Assert.Equal(new long[] { 3, 5, 7 }, inputs[row].data<long>().ToArray());
        Assert.Equal(1, labels[row].item<long>());
    }

    [Fact]
    public void ModAddConfig_Validate_NamesTheField()
    {
        Assert.Contains("P", Assert.Throws<SaeSharpException>(() => new ModAddConfig(P: 100).Validate()).Message);
        Assert.Contains("TrainFraction", Assert.Throws<SaeSharpException>(() => new ModAddConfig(TrainFraction: 1.0).Validate()).Message);
    }
}
