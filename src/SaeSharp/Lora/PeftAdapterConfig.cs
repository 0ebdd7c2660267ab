using System.Text.Json.Serialization;

namespace SaeSharp.Lora;

/// <summary>
/// The fields of PEFT's <c>adapter_config.json</c> (<c>peft.LoraConfig</c> and its <c>PeftConfig</c> base) that a
/// plain LoRA on a causal language model sets; PEFT fills every other field with its default when it loads the file.
/// </summary>
internal sealed record PeftAdapterConfig
{
    [JsonPropertyName("base_model_name_or_path")] public string? BaseModelNameOrPath { get; init; }
    [JsonPropertyName("bias")] public string Bias { get; init; } = "none";
    [JsonPropertyName("fan_in_fan_out")] public bool FanInFanOut { get; init; }
    [JsonPropertyName("inference_mode")] public bool InferenceMode { get; init; } = true;
    [JsonPropertyName("init_lora_weights")] public bool InitLoraWeights { get; init; } = true;
    [JsonPropertyName("layers_to_transform")] public int[]? LayersToTransform { get; init; }
    [JsonPropertyName("lora_alpha")] public double LoraAlpha { get; init; }
    [JsonPropertyName("lora_dropout")] public double LoraDropout { get; init; }
    [JsonPropertyName("peft_type")] public string PeftType { get; init; } = "LORA";
    [JsonPropertyName("r")] public int R { get; init; }
    [JsonPropertyName("target_modules")] public string[]? TargetModules { get; init; }
    [JsonPropertyName("task_type")] public string? TaskType { get; init; } = "CAUSAL_LM";
    [JsonPropertyName("use_dora")] public bool UseDora { get; init; }
    [JsonPropertyName("use_rslora")] public bool UseRslora { get; init; }
}
