using SaeSharp.Cli.Internals;

namespace SaeSharp.Cli.Tests.Internals;

/// <summary>The progress line fits the terminal instead of collapsing to a lone ellipsis.</summary>
public sealed class ConsoleProgressTests
{
    private const string TrainStatus = "loss 0.01234 fvu 0.0456 l0 32.0 dead 1.5%";

    [Theory]
    [InlineData(80)]
    [InlineData(100)]
    [InlineData(200)]
    public void Layout_EveryWidth_LeavesRoomForTitleAndStatus(int width)
    {
        var (bar, description) = ConsoleProgress.Layout(width);
        // Percentage (4), remaining time (8), spinner (1) and padding (10) take the rest.
        Assert.True(bar + description + 23 <= width, $"bar {bar} + description {description} overflow {width} columns");
        Assert.True(description >= 30, $"only {description} columns for the description at width {width}");
    }

    [Fact]
    public void Fit_EightyColumns_KeepsTitleAndCutsStatusAtAWord()
    {
        var (_, width) = ConsoleProgress.Layout(80);
        var line = ConsoleProgress.Fit("crosscoder train", TrainStatus, width);
        Assert.True(line.Length <= width, line);
        Assert.StartsWith("crosscoder train loss 0.01234", line);
        Assert.EndsWith("…", line);
        Assert.DoesNotContain(" …", line);
    }

    [Fact]
    public void Fit_WideEnough_IsUnchanged() =>
        Assert.Equal($"train {TrainStatus}", ConsoleProgress.Fit("train", TrainStatus, 200));

    [Fact]
    public void Fit_TitleAlone_WiderThanRoom_IsCutNotDropped() =>
        Assert.Equal("cros…", ConsoleProgress.Fit("crosscoder train", null, 5));
}
