using static TorchSharp.torch;

namespace SaeSharp.Tests.Hosts;

/// <summary>
/// An independent, plain reading of Hugging Face's GPTNeoForCausalLM forward pass over a dictionary of weights by
/// HF name (written from modeling_gpt_neo.py, not from HostTransformer): the reference the loader is checked against.
/// </summary>
internal static class GptNeoReference
{
    public static Tensor Logits(IReadOnlyDictionary<string, Tensor> w, Tensor ids, int layers, int heads, int window, double eps = 1e-5)
    {
        long b = ids.shape[0], t = ids.shape[1];
        var hidden = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][arange(t)];
        for (int i = 0; i < layers; i++)
        {
            string p = $"transformer.h.{i}.";
            var residual = hidden;
            var x = nn.functional.layer_norm(hidden, [hidden.shape[2]], w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps);
            var q = x.matmul(w[p + "attn.attention.q_proj.weight"].t());
            var k = x.matmul(w[p + "attn.attention.k_proj.weight"].t());
            var v = x.matmul(w[p + "attn.attention.v_proj.weight"].t());
            long d = q.shape[2], dh = d / heads;
            Tensor Split(Tensor y) => y.view(b, t, heads, dh).permute(0, 2, 1, 3);
            var attnWeights = Split(q).matmul(Split(k).transpose(-1, -2)); // GPT-Neo: no 1/sqrt(d) scaling
            // HF: bias = tril(ones); local layers: bias ^= tril(bias, -window)
            var causal = ones(t, t, dtype: ScalarType.Bool).tril();
            if (i % 2 == 1) causal = causal.logical_xor(causal.tril(-window));
            attnWeights = where(causal, attnWeights, tensor(float.MinValue));
            attnWeights = attnWeights.softmax(-1);
            var attnOut = attnWeights.matmul(Split(v)).permute(0, 2, 1, 3).reshape(b, t, d);
            attnOut = attnOut.matmul(w[p + "attn.attention.out_proj.weight"].t()) + w[p + "attn.attention.out_proj.bias"];
            hidden = attnOut + residual;
            residual = hidden;
            x = nn.functional.layer_norm(hidden, [hidden.shape[2]], w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps);
            var fc = x.matmul(w[p + "mlp.c_fc.weight"].t()) + w[p + "mlp.c_fc.bias"];
            var act = 0.5 * fc * (1.0 + tanh(Math.Sqrt(2.0 / Math.PI) * (fc + 0.044715 * pow(fc, 3.0))));
            hidden = residual + act.matmul(w[p + "mlp.c_proj.weight"].t()) + w[p + "mlp.c_proj.bias"];
        }
        hidden = nn.functional.layer_norm(hidden, [hidden.shape[2]], w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps);
        return hidden.matmul(w["transformer.wte.weight"].t());
    }
}
