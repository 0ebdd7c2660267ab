namespace SaeSharp.Hosts;

/// <summary>Hugging Face GPT-Neo parameter names (nn.Linear weights are <c>[out, in]</c>).</summary>
public static class HostNames
{
    public const string Wte = "transformer.wte.weight";
    public const string Wpe = "transformer.wpe.weight";
    public const string LnFWeight = "transformer.ln_f.weight";
    public const string LnFBias = "transformer.ln_f.bias";
    public const string LmHead = "lm_head.weight";

    public static string Ln1Weight(int i) => $"transformer.h.{i}.ln_1.weight";
    public static string Ln1Bias(int i) => $"transformer.h.{i}.ln_1.bias";
    public static string QWeight(int i) => $"transformer.h.{i}.attn.attention.q_proj.weight";
    public static string QBias(int i) => $"transformer.h.{i}.attn.attention.q_proj.bias";
    public static string KWeight(int i) => $"transformer.h.{i}.attn.attention.k_proj.weight";
    public static string KBias(int i) => $"transformer.h.{i}.attn.attention.k_proj.bias";
    public static string VWeight(int i) => $"transformer.h.{i}.attn.attention.v_proj.weight";
    public static string VBias(int i) => $"transformer.h.{i}.attn.attention.v_proj.bias";
    public static string OutWeight(int i) => $"transformer.h.{i}.attn.attention.out_proj.weight";
    public static string OutBias(int i) => $"transformer.h.{i}.attn.attention.out_proj.bias";
    public static string Ln2Weight(int i) => $"transformer.h.{i}.ln_2.weight";
    public static string Ln2Bias(int i) => $"transformer.h.{i}.ln_2.bias";
    public static string FcWeight(int i) => $"transformer.h.{i}.mlp.c_fc.weight";
    public static string FcBias(int i) => $"transformer.h.{i}.mlp.c_fc.bias";
    public static string ProjWeight(int i) => $"transformer.h.{i}.mlp.c_proj.weight";
    public static string ProjBias(int i) => $"transformer.h.{i}.mlp.c_proj.bias";

    /// <summary>Non-parameter buffers that older GPT-Neo checkpoints store (the causal mask and its fill value).</summary>
    public static bool IsIgnoredBuffer(string name) =>
        name.StartsWith("transformer.h.", StringComparison.Ordinal)
        && (name.EndsWith(".attn.attention.bias", StringComparison.Ordinal) || name.EndsWith(".attn.attention.masked_bias", StringComparison.Ordinal));
}
