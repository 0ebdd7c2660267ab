namespace SaeSharp.Testbeds.Demos;

/// <summary>What the embedded crosscoder demo measured.</summary>
/// <param name="Options">The settings used.</param>
/// <param name="Models">The hosts: A, B and (when included) the student distilled from A.</param>
/// <param name="StudentAgreement">Share of the p² inputs where the student's answer equals the teacher's (NaN without a student).</param>
/// <param name="Crosscoders">Scored crosscoders: A vs B with the L1 and the BatchTopK rule, then (when included) A vs student.</param>
/// <param name="TotalSeconds">Wall time of the whole demo.</param>
public sealed record CrosscoderDemoResult(
    CrosscoderDemoOptions Options, IReadOnlyList<DemoModel> Models, double StudentAgreement, IReadOnlyList<DemoScore> Crosscoders, double TotalSeconds);
