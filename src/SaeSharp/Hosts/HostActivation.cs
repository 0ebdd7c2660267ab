namespace SaeSharp.Hosts;

/// <summary>The MLP non-linearity of a <see cref="HostTransformer"/>.</summary>
public enum HostActivation
{
    /// <summary>max(0, x) (the grokking model).</summary>
    Relu,

    /// <summary>
    /// The tanh approximation of GELU that GPT-2 and GPT-Neo use (Hugging Face's <c>gelu_new</c>):
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    /// </summary>
    GeluNew,
}
