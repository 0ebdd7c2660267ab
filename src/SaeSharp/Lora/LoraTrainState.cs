namespace SaeSharp.Lora;

/// <summary>The step a LoRA checkpoint holds (<c>lora_state.json</c>), beside the adapters and the optimizer state.</summary>
internal sealed record LoraTrainState(int Step, long Seed);
