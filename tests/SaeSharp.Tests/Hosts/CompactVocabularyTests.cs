using SaeSharp.Hosts;

namespace SaeSharp.Tests.Hosts;

public sealed class CompactVocabularyTests
{
    [Fact]
    public void FromSequences_UsedIdsPlusUnknown_AscendingWithLookups()
    {
        var vocabulary = CompactVocabulary.FromSequences([[40, 7, 40], [12]], originalSize: 50, unknownId: 49);
        Assert.Equal([7, 12, 40, 49], vocabulary.Ids);
        Assert.Equal(3, vocabulary.UnknownIndex);
        Assert.Equal([2L, 0, 1], vocabulary.ToCompact([40, 7, 12]));
        var lookup = vocabulary.InputLookup();
        Assert.Equal(50, lookup.Length);
        Assert.Equal(1, lookup[12]);
        Assert.Equal(3, lookup[13]); // unknown → <|endoftext|>'s row
        Assert.Throws<SaeSharpException>(() => vocabulary.ToCompact([13]));
    }

    [Fact]
    public void SaveLoad_RoundTrips_AndBadFilesNameTheField()
    {
        var path = Path.Combine(Path.GetTempPath(), $"saesharp-vocab-{Guid.NewGuid():N}.json");
        try
        {
            var vocabulary = CompactVocabulary.Create([3, 9, 50256], 50257, 50256);
            vocabulary.Save(path);
            var loaded = CompactVocabulary.Load(path);
            Assert.Equal(vocabulary.Ids, loaded.Ids);
            Assert.Equal(50257, loaded.OriginalSize);
            Assert.Equal(2, loaded.UnknownIndex);

            foreach (var (json, field) in new[]
            {
                ("""{"original_vocab_size":50257,"unknown_id":50256,"ids":[9,3,50256]}""", "ids"),
                ("""{"original_vocab_size":50257,"unknown_id":50256,"ids":[3,9,50257]}""", "ids"),
                ("""{"original_vocab_size":50257,"unknown_id":4,"ids":[3,9]}""", "unknown_id"),
                ("""{"original_vocab_size":"50257","unknown_id":3,"ids":[3]}""", "original_vocab_size"),
                ("""{"original_vocab_size":50257,"unknown_id":3,"ids":[3.5]}""", "ids"),
            })
            {
                File.WriteAllText(path, json);
                var error = Assert.Throws<SaeSharpException>(() => CompactVocabulary.Load(path));
                Assert.Equal(field, error.Field);
                Assert.Equal(path, error.FilePath);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
