namespace SaeSharp.Testbeds.Stories;

/// <summary>Two words of the story lexicon under a relation: (dog, dogs) under <c>plural</c>, (walk, walked) under <c>past</c>, (Tom, Lily) under <c>female</c>.</summary>
/// <param name="Relation">The relation's name.</param>
/// <param name="First">The first word (singular, present, male).</param>
/// <param name="Second">The second word (plural, past, female).</param>
public sealed record StoryRelationPair(string Relation, string First, string Second);
