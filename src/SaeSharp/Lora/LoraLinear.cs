using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SaeSharp.Lora;

/// <summary>
/// A low-rank update beside a frozen linear layer W <c>[out, in]</c>: Δy = (α / r) · B · A · dropout(x), with
/// A <c>[r, in]</c> and B <c>[out, r]</c> (PEFT's <c>lora_A</c> and <c>lora_B</c>, nn.Linear layout).
/// </summary>
/// <remarks>
/// A starts uniform in ±1/√in (PEFT's kaiming_uniform with a = √5) and B at zero, so a fresh adapter changes
/// nothing and the first step's gradient reaches B only. The merged weight is W + (α / r) · B · A.
/// </remarks>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _aRI;
    private readonly Parameter _bOR;
    private readonly double _dropout;

    internal LoraLinear(int inFeatures, int outFeatures, int rank, double scale, double dropout, Generator generator) : base(nameof(LoraLinear))
    {
        double bound = 1.0 / Math.Sqrt(inFeatures);
        using var unit = rand([rank, inFeatures], generator: generator);
        using var twoBound = (2 * bound).ToScalar();
        using var negBound = (-bound).ToScalar();
        _aRI = new Parameter(unit.mul(twoBound).add_(negBound), requires_grad: true);
        _bOR = new Parameter(zeros(outFeatures, rank), requires_grad: true);
        register_parameter("lora_A", _aRI);
        register_parameter("lora_B", _bOR);
        Scale = scale;
        _dropout = dropout;
    }

    /// <summary>A <c>[r, in]</c>, the live parameter.</summary>
    public Tensor A => _aRI;

    /// <summary>B <c>[out, r]</c>, the live parameter.</summary>
    public Tensor B => _bOR;

    /// <summary>α / r.</summary>
    public double Scale { get; }

    /// <summary>x <c>[..., in]</c> → Δy <c>[..., out]</c>; dropout on x only in training mode.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var input = training && _dropout > 0 ? nn.functional.dropout(x, _dropout, training: true) : x;
        using var scale = Scale.ToScalar();
        return nn.functional.linear(nn.functional.linear(input, _aRI), _bOR).mul(scale).MoveToOuterDisposeScope();
    }

    /// <summary>(α / r) · B · A <c>[out, in]</c>: what merging adds to the base weight.</summary>
    public Tensor Delta()
    {
        using var scale = Scale.ToScalar();
        using var product = _bOR.matmul(_aRI);
        return product.mul(scale);
    }
}
