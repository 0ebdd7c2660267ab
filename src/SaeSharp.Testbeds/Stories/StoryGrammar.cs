using static SaeSharp.Testbeds.Stories.StoryLabels;
using L = SaeSharp.Testbeds.Stories.StoryLexicon;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// The probabilistic grammar: opening, a second character, weather, two to four events, an optional dialogue and
/// twist, an ending (happy or bad) and an optional moral. The forced constructions (docs/stories.md) are written
/// so that their next word is the only one the grammar ever produces after the same context:
/// "NAME picked up|held|hugged|showed|lost" → NAME's possessive; "NAME smiled|was FEELING because" → NAME's subject
/// pronoun; a quote is always introduced by a sentence whose first word is its speaker, and "said" occurs only as
/// "said SPEAKER"; "upon a" → "time", "ever" → "after", "best" → "friends".
/// </summary>
internal sealed class StoryGrammar(StoryRandom rng, StoryGeneratorOptions options)
{
    private sealed record Character(string Name, bool Female, int Slot)
    {
        public string Subject => Female ? "she" : "he";
        public string Object => Female ? "her" : "him";
        public string Possessive => Female ? "her" : "his";
        public string Noun => Female ? "girl" : "boy";
        public ulong Labels => Bit(Slot == 1 ? Character1 : Character2) | Bit(Female ? StoryLabels.Female : Male);
    }

    private StoryDraft _d = new();

    public StoryDraft Write()
    {
        _d = new StoryDraft();
        bool firstFemale = rng.Chance(0.5), secondFemale = rng.Chance(0.5);
        var a = new Character(rng.Pick(firstFemale ? L.FemaleNames : L.MaleNames), firstFemale, 1);
        string secondName;
        do { secondName = rng.Pick(secondFemale ? L.FemaleNames : L.MaleNames); } while (secondName == a.Name);
        var b = new Character(secondName, secondFemale, 2);

        Opening(a);
        Friend(a, b);
        if (rng.Chance(0.7)) Weather();
        Going(a, b);
        int events = 2 + rng.Below(3);
        for (int i = 0; i < events; i++)
        {
            var (x, y) = rng.Chance(0.65) ? (a, b) : (b, a);
            Event(x, y);
            // Checked first so that a corpus without reflections draws exactly the random numbers it always did.
            if (options.ReflectionProbability > 0 && rng.Chance(options.ReflectionProbability)) ReflectionSentences(x);
        }
        if (rng.Chance(options.DialogueProbability)) Dialogue(a, b);
        if (rng.Chance(options.TwistProbability)) TwistSentences(a);
        if (rng.Chance(options.BadEndingProbability)) BadEnd(a, b); else HappyEnd(a, b);
        if (rng.Chance(options.MoralProbability)) MoralSentence(a);
        return _d;
    }

    // ---- characters and nouns ----

    private void Name(Character c) => _d.Word(c.Name, Bit(StoryLabels.Name) | c.Labels);

    private void Pronoun(Character c, string form, bool capital = false) =>
        _d.Word(capital ? char.ToUpperInvariant(form[0]) + form[1..] : form, Bit(StoryLabels.Pronoun) | c.Labels);

    private void AnimalPhrase(bool allowPlural)
    {
        var (one, many) = rng.Pick(L.Animals);
        if (allowPlural && rng.Chance(0.4))
        {
            _d.Word(rng.Pick(L.Numbers), Bit(Number));
            _d.Word(many, Bit(Animal) | Bit(Plural));
        }
        else
        {
            var adjective = rng.Chance(0.4) ? PickAdjective() : default;
            _d.Word(Article(adjective.Word ?? one));
            if (adjective.Word is not null) _d.Word(adjective.Word, adjective.Label);
            _d.Word(one, Bit(Animal) | Bit(Singular));
        }
    }

    /// <summary>"a" or "an" before <paramref name="next"/>, so that the article never contradicts the word after it.</summary>
    private static string Article(string next) => "aeiou".Contains(next[0]) ? "an" : "a";

    private (string? Word, ulong Label) PickAdjective() => rng.Chance(0.35)
        ? (rng.Pick(L.Colors), Bit(Color))
        : (rng.Pick(L.Adjectives), Bit(StoryLabels.Adjective));

    private void TheAnimal()
    {
        _d.Word("the");
        _d.Word(rng.Pick(L.Animals).One, Bit(Animal) | Bit(Singular));
    }

    private void ObjectNoun(bool plural = false)
    {
        var (one, many) = rng.Pick(L.Objects);
        _d.Word(plural ? many : one, Bit(StoryLabels.Object) | Bit(plural ? Plural : Singular));
    }

    private void Adjective()
    {
        var (word, label) = PickAdjective();
        _d.Word(word!, label);
    }

    /// <summary>"a little girl": people get a plain adjective (no colour), with the article that fits it.</summary>
    private void APerson(Character c)
    {
        string? adjective = rng.Chance(0.5) ? rng.Pick(L.PersonAdjectives) : null;
        _d.Word(Article(adjective ?? c.Noun));
        if (adjective is not null) _d.Word(adjective, Bit(StoryLabels.Adjective));
        _d.Word(c.Noun, Bit(Person) | c.Labels);
    }

    private void ThePlace()
    {
        _d.Word("the");
        _d.Word(rng.Pick(L.Places), Bit(Place));
    }

    private void Feeling() => _d.Word(rng.Pick(L.Feelings), Bit(StoryLabels.Feeling));

    private void Past((string Now, string Past) verb) => _d.Word(verb.Past, Bit(VerbPast));

    private void Present((string Now, string Past) verb) => _d.Word(verb.Now, Bit(VerbPresent));

    /// <summary>"NAME picked up her ..." — the possessive is forced by the subject.</summary>
    private void PossessiveVerb(Character subject, string verb)
    {
        _d.Words(verb, Bit(VerbPast));
        _d.Forced("pronoun", subject.Possessive);
        Pronoun(subject, subject.Possessive);
    }

    // ---- sentences ----

    private void Opening(Character a)
    {
        _d.BeginSentence(Bit(StoryLabels.Opening));
        if (rng.Chance(0.65))
        {
            _d.Words("Once upon a", Bit(FixedPhrase));
            _d.Forced("phrase", "time");
            _d.Word("time", Bit(FixedPhrase));
            _d.Mark(",");
            _d.Words("there was");
            APerson(a);
            _d.Word("named");
            Name(a);
        }
        else
        {
            _d.Words("One day", Bit(FixedPhrase));
            _d.Mark(",");
            Name(a);
            _d.Word("went");
            _d.Word("to");
            ThePlace();
        }
        _d.EndSentence();
    }

    private void Friend(Character a, Character b)
    {
        _d.BeginSentence(0);
        switch (rng.Below(3))
        {
            case 0:
                Name(a); _d.Words("had a friend named"); Name(b);
                break;
            case 1:
                Name(a); _d.Word("and"); Name(b); _d.Word("were");
                _d.Word("best", Bit(FixedPhrase));
                _d.Forced("phrase", "friends");
                _d.Word("friends", Bit(FixedPhrase));
                break;
            default:
                Name(a); _d.Words("liked to play with"); Name(b); _d.Mark(",");
                APerson(b);
                _d.Words("who lived near"); Pronoun(a, a.Object);
                break;
        }
        _d.EndSentence();
    }

    private void Weather()
    {
        _d.BeginSentence(0);
        if (rng.Chance(0.5))
        {
            _d.Words("It was a");
            _d.Word(rng.Pick(L.WeatherDays), Bit(StoryLabels.Weather));
            _d.Word("day");
        }
        else
        {
            var (noun, verb) = rng.Pick(L.WeatherEvents);
            _d.Word("The");
            _d.Word(noun, Bit(StoryLabels.Weather));
            _d.Words(verb);
        }
        _d.EndSentence();
    }

    private void Going(Character a, Character b)
    {
        _d.BeginSentence(0);
        if (rng.Chance(0.5))
        {
            Name(a); _d.Word("and"); Name(b); _d.Word("went"); _d.Word("to"); ThePlace();
        }
        else
        {
            Name(a); _d.Word("went"); _d.Word("to"); ThePlace(); _d.Word("with");
            Pronoun(a, a.Possessive); _d.Word(rng.Pick(L.Family), Bit(StoryLabels.Family));
        }
        _d.EndSentence();
    }

    private void Event(Character x, Character y)
    {
        _d.BeginSentence(0);
        bool byName = rng.Chance(0.7);
        void Subject() { if (byName) Name(x); else Pronoun(x, x.Subject, capital: true); }
        switch (rng.Below(9))
        {
            case 0:
                Subject(); _d.Word("saw"); AnimalPhrase(allowPlural: true);
                if (rng.Chance(0.5)) { _d.Word("in"); ThePlace(); }
                break;
            case 1:
                Name(x); PossessiveVerb(x, rng.Chance(0.5) ? "picked up" : "held");
                if (rng.Chance(0.4)) Adjective();
                ObjectNoun();
                break;
            case 2:
                Name(x); PossessiveVerb(x, "hugged");
                if (rng.Chance(0.5)) _d.Word(rng.Pick(L.Family), Bit(StoryLabels.Family));
                else { if (rng.Chance(0.4)) Adjective(); ObjectNoun(); }
                break;
            case 3:
                Name(x); PossessiveVerb(x, "showed"); ObjectNoun(); _d.Word("to"); Name(y);
                break;
            case 4:
                Name(x);
                if (rng.Chance(0.5)) _d.Word("smiled", Bit(VerbPast));
                else { _d.Word("was"); Feeling(); }
                _d.Word("because");
                _d.Forced("pronoun", x.Subject);
                Pronoun(x, x.Subject);
                Reason(x, y);
                break;
            case 5:
                _d.Word("The"); _d.Word(rng.Pick(L.Animals).One, Bit(Animal) | Bit(Singular));
                Past(rng.Pick(L.Intransitive));
                if (rng.Chance(0.6)) { _d.Word("to"); ThePlace(); } else _d.Word("away");
                break;
            case 6:
                Name(x); _d.Word("and"); Name(y); Past(rng.Pick(L.Intransitive)); _d.Word("in"); ThePlace();
                break;
            case 7:
                Subject(); Past(rng.Pick(L.Transitive)); _d.Word("the");
                if (rng.Chance(0.5)) { ObjectNoun(rng.Chance(0.3)); }
                else { if (rng.Chance(0.5)) Adjective(); ObjectNoun(); }
                break;
            default:
                Subject(); _d.Word("felt"); Feeling();
                break;
        }
        _d.EndSentence();
    }

    /// <summary>What follows "NAME ... because she".</summary>
    private void Reason(Character x, Character y)
    {
        switch (rng.Below(4))
        {
            case 0: _d.Words("had a new"); ObjectNoun(); break;
            case 1: _d.Word("saw"); AnimalPhrase(allowPlural: true); break;
            case 2: _d.Words("wanted to"); Present(rng.Pick(L.Intransitive)); _d.Word("with"); Name(y); break;
            default: PossessiveVerb(x, "lost"); ObjectNoun(); break;
        }
    }

    private void Dialogue(Character a, Character b)
    {
        int turns = 2 + rng.Below(2);
        for (int i = 0; i < turns; i++)
        {
            var (speaker, other) = i % 2 == 0 ? (a, b) : (b, a);
            Introduce(speaker, other);
            Quote(speaker);
        }
    }

    /// <summary>The sentence before a quote: its first word is always the speaker's name.</summary>
    private void Introduce(Character s, Character other)
    {
        _d.BeginSentence(0);
        Name(s);
        switch (rng.Below(5))
        {
            case 0: _d.Words("looked at"); Name(other); break;
            case 1: _d.Words("had an idea"); break;
            case 2: _d.Word("saw"); TheAnimal(); break;
            case 3: _d.Word("was"); Feeling(); break;
            default: _d.Words("turned to"); Name(other); break;
        }
        _d.EndSentence();
    }

    private void Quote(Character speaker)
    {
        _d.BeginSentence(0);
        _d.OpenQuote();
        string end;
        switch (rng.Below(7))
        {
            case 0: _d.Word("Let's"); Present(rng.Pick(L.Intransitive)); _d.Word("in"); ThePlace(); end = "!"; break;
            case 1: _d.Words("I like your"); ObjectNoun(); end = ","; break;
            case 2:
                _d.AddSentenceLabel(Bit(Question));
                _d.Words("Do you want to"); Present(rng.Pick(L.Intransitive)); _d.Words("with me"); end = "?"; break;
            case 3: _d.Words("Look at"); TheAnimal(); end = "!"; break;
            case 4:
                _d.Words("I see"); _d.Word(rng.Pick(L.Numbers), Bit(Number));
                _d.Word(rng.Pick(L.Animals).Many, Bit(Animal) | Bit(Plural)); end = "!"; break;
            case 5:
                _d.AddSentenceLabel(Bit(Question));
                _d.Words("Can I"); Present(rng.Pick(L.Transitive)); _d.Word("the"); ObjectNoun(rng.Chance(0.3)); end = "?"; break;
            default:
                _d.Words("I am");
                if (rng.Chance(0.3)) _d.Word("not", Bit(Negation));
                Feeling(); end = ","; break;
        }
        _d.Mark(end);
        _d.CloseQuote();
        _d.Word("said", Bit(SpeakerTag) | Bit(VerbPast));
        _d.Forced("speaker", speaker.Name);
        _d.Word(speaker.Name, Bit(StoryLabels.Name) | Bit(SpeakerTag) | speaker.Labels);
        _d.EndSentence();
    }

    private void TwistSentences(Character a)
    {
        _d.BeginSentence(Bit(Twist));
        _d.Words("But then"); _d.Mark(","); _d.Words("something strange happened");
        _d.EndSentence();
        _d.BeginSentence(Bit(Twist));
        switch (rng.Below(3))
        {
            case 0:
                _d.Word("The"); _d.Word(rng.Pick(L.Animals).One, Bit(Animal) | Bit(Singular)); _d.Words("began to talk");
                _d.EndSentence("!");
                break;
            case 1:
                _d.Word("The"); ObjectNoun(); _d.Words("was really"); AnimalPhrase(allowPlural: false);
                _d.EndSentence("!");
                break;
            default:
                Name(a); _d.Words("looked again and the"); ObjectNoun(); _d.Words("was gone");
                _d.EndSentence("!");
                break;
        }
    }

    /// <summary>"Wait, let me think again. Maybe NAME was not FEELING after all." (<see cref="StoryReflections"/> parses them back.)</summary>
    private void ReflectionSentences(Character x)
    {
        _d.BeginSentence(Bit(Reflection) | Bit(ReflectionPause));
        _d.Word("Wait"); _d.Mark(","); _d.Words("let me think again");
        _d.EndSentence();
        _d.BeginSentence(Bit(Reflection) | Bit(ReflectionDoubt));
        _d.Word("Maybe");
        if (rng.Chance(0.6)) Name(x); else Pronoun(x, x.Subject);
        _d.Word("was"); _d.Word("not", Bit(Negation)); Feeling(); _d.Words("after all");
        _d.EndSentence();
    }

    private void BadEnd(Character a, Character b)
    {
        _d.BeginSentence(Bit(BadEnding));
        switch (rng.Below(4))
        {
            case 0: _d.Word("The"); ObjectNoun(); _d.Words("broke and"); Name(a); _d.Words("was very sad"); break;
            case 1: TheAnimalCapital(); _d.Words("ran away and"); _d.Word("never", Bit(Negation)); _d.Words("came back"); break;
            case 2: Name(a); PossessiveVerb(a, "lost"); ObjectNoun(); _d.Words("and cried"); break;
            default: Name(a); _d.Word("and"); Name(b); _d.Word("were"); _d.Word("not", Bit(Negation)); _d.Words("friends anymore"); break;
        }
        _d.EndSentence();
    }

    private void TheAnimalCapital()
    {
        _d.Word("The");
        _d.Word(rng.Pick(L.Animals).One, Bit(Animal) | Bit(Singular));
    }

    private void HappyEnd(Character a, Character b)
    {
        _d.BeginSentence(Bit(HappyEnding));
        if (rng.Chance(0.5)) { Name(a); _d.Word("and"); Name(b); _d.Words("played together all day"); }
        else { Name(a); _d.Word("was"); _d.Word("very"); _d.Word("happy", Bit(StoryLabels.Feeling)); }
        _d.EndSentence();
        if (rng.Chance(0.5))
        {
            _d.BeginSentence(Bit(HappyEnding));
            _d.Words("They lived happily");
            _d.Word("ever", Bit(FixedPhrase));
            _d.Forced("phrase", "after");
            _d.Word("after", Bit(FixedPhrase));
            _d.EndSentence();
        }
    }

    private void MoralSentence(Character a)
    {
        _d.BeginSentence(Bit(Moral));
        if (rng.Chance(0.5)) _d.Words("The moral of the story is to always");
        else { Name(a); _d.Words("learned that it is good to"); }
        _d.Words(rng.Pick(L.Lessons));
        _d.EndSentence();
    }
}
