using System.Text.Json;
using System.Text.Json.Nodes;
using SaeSharp.IO;

namespace SaeSharp.Training;

/// <summary>
/// Reads the <c>train_config</c> entry of every training state. Crosscoder states written before SAEs and crosscoders
/// shared one <see cref="TrainConfig"/> used their own names (<c>l1_coefficient</c>, <c>l1_warmup_steps</c>, and
/// <c>step</c> as a string enum); those are renamed. Any field a config lacks takes its documented default.
/// </summary>
internal static class TrainConfigReader
{
    public static TrainConfig Read(TrainingState state)
    {
        const string Key = "train_config";
        JsonObject node;
        try
        {
            node = JsonNode.Parse(state.Required(Key), documentOptions: StrictJson.DocumentOptions) as JsonObject ?? throw new SaeSharpException("is not a JSON object", state.Path, Key);
        }
        catch (JsonException e)
        {
            throw new SaeSharpException($"is not valid JSON: {e.Message}", state.Path, Key, e);
        }
        bool crosscoderState = state.Metadata.TryGetValue("kind", out var kind) && kind == "crosscoder";
        if (crosscoderState)
        {
            Rename(node, "l1_coefficient", "sparsity_coefficient");
            Rename(node, "l1_warmup_steps", "sparsity_warmup_steps");
        }
        if (crosscoderState && node["step"] is JsonValue step && step.TryGetValue<string>(out var stepName))
        {
            node.Remove("step");
            if (!Enum.TryParse<TrainingStepKind>(stepName, ignoreCase: true, out var stepKind))
                throw new SaeSharpException($"'{stepName}' is not a training step kind", state.Path, "step");
            node["step_kind"] = (int)stepKind;
        }
        // Fields a config lacks (an old crosscoder's dense_frequency; a field added after the run was written) take
        // TrainConfig's documented default: the source-generated deserializer sets a missing init-only property to
        // default(T) (0), not to its initializer.
        var defaults = JsonSerializer.SerializeToNode(new TrainConfig(), SaeSharpJsonContext.Default.TrainConfig) as JsonObject;
        foreach (var (key, value) in defaults ?? [])
        {
            if (!node.ContainsKey(key))
                node[key] = value?.DeepClone();
        }
        try
        {
            return node.Deserialize(SaeSharpJsonContext.Default.TrainConfig) ?? throw new SaeSharpException("is null", state.Path, Key);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new SaeSharpException($"is not a valid train config: {e.Message}", state.Path, Key, e);
        }
    }

    private static void Rename(JsonObject node, string from, string to)
    {
        if (!node.ContainsKey(from) || node.ContainsKey(to)) return;
        var value = node[from];
        node.Remove(from);
        node[to] = value;
    }
}
