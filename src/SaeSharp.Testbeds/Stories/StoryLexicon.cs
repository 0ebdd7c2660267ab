namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// The grammar's words. Nouns come as (singular, plural) and verbs as (present, past) pairs so that the same
/// relation recurs across many words (the parallelogram tests need dog:dogs :: cat:cats, walk:walked :: jump:jumped).
/// </summary>
internal static class StoryLexicon
{
    public static readonly string[] FemaleNames =
        ["Lily", "Sue", "Mia", "Amy", "Anna", "Emma", "Lucy", "Sara", "Kate", "Jane", "Grace", "Rose", "Zoe", "Lisa", "Molly", "Daisy"];

    public static readonly string[] MaleNames =
        ["Tom", "Ben", "Max", "Sam", "Tim", "Jack", "Leo", "Bob", "Dan", "Jim", "Joe", "Mark", "Paul", "Luke", "Billy", "Fred"];

    public static readonly (string One, string Many)[] Animals =
    [
        ("dog", "dogs"), ("cat", "cats"), ("bird", "birds"), ("frog", "frogs"), ("duck", "ducks"), ("bunny", "bunnies"),
        ("fox", "foxes"), ("bear", "bears"), ("pig", "pigs"), ("cow", "cows"), ("horse", "horses"), ("lion", "lions"),
        ("mouse", "mice"), ("owl", "owls"), ("bee", "bees"), ("puppy", "puppies"), ("kitten", "kittens"),
        ("squirrel", "squirrels"), ("turtle", "turtles"), ("monkey", "monkeys"), ("butterfly", "butterflies"), ("fish", "fish"),
    ];

    public static readonly (string One, string Many)[] Objects =
    [
        ("ball", "balls"), ("toy", "toys"), ("box", "boxes"), ("kite", "kites"), ("book", "books"), ("hat", "hats"),
        ("car", "cars"), ("doll", "dolls"), ("cake", "cakes"), ("apple", "apples"), ("flower", "flowers"),
        ("stick", "sticks"), ("rock", "rocks"), ("cup", "cups"), ("shoe", "shoes"), ("boat", "boats"), ("drum", "drums"),
        ("truck", "trucks"), ("balloon", "balloons"), ("cookie", "cookies"), ("crayon", "crayons"), ("block", "blocks"),
        ("bag", "bags"), ("bell", "bells"), ("key", "keys"), ("shell", "shells"), ("leaf", "leaves"), ("coin", "coins"),
    ];

    public static readonly string[] Places =
    [
        "park", "garden", "forest", "beach", "house", "school", "farm", "lake", "river", "hill", "zoo", "shop", "pond",
        "yard", "town", "kitchen", "room", "playground", "castle", "cave", "jungle", "sea", "field", "library", "market",
    ];

    public static readonly string[] Feelings =
        ["happy", "sad", "scared", "angry", "excited", "proud", "tired", "surprised", "sorry", "curious", "brave", "lonely", "shy", "glad"];

    public static readonly string[] WeatherDays = ["sunny", "rainy", "windy", "snowy", "cloudy", "cold", "warm", "hot"];

    /// <summary>Weather nouns with the verb the narration uses for them.</summary>
    public static readonly (string Noun, string Verb)[] WeatherEvents =
        [("sun", "was shining"), ("rain", "was falling"), ("snow", "was falling"), ("wind", "was blowing"), ("storm", "was coming")];

    public static readonly string[] Adjectives =
        ["big", "little", "small", "shiny", "soft", "new", "old", "pretty", "funny", "tall", "kind", "fast", "slow", "silly", "tiny", "huge", "smart", "nice"];

    /// <summary>Adjectives for a girl or boy ("a kind girl"); colours are kept for things.</summary>
    public static readonly string[] PersonAdjectives = ["little", "small", "kind", "funny", "tall", "smart", "nice", "silly", "old", "young"];

    public static readonly string[] Colors = ["red", "blue", "green", "yellow", "pink", "purple", "orange", "white"];

    public static readonly string[] Family = ["mom", "dad", "grandma", "grandpa", "sister", "brother", "teacher", "aunt"];

    public static readonly string[] Numbers = ["two", "three", "four", "five"];

    /// <summary>Verbs that take no object: "they played in the park", "let's play in the park".</summary>
    public static readonly (string Now, string Past)[] Intransitive =
    [
        ("play", "played"), ("run", "ran"), ("jump", "jumped"), ("dance", "danced"), ("swim", "swam"), ("sing", "sang"),
        ("walk", "walked"), ("hop", "hopped"), ("race", "raced"), ("splash", "splashed"), ("climb", "climbed"),
        ("hide", "hid"), ("rest", "rested"), ("sit", "sat"), ("skip", "skipped"), ("explore", "explored"),
    ];

    /// <summary>Verbs that take an object: "Lily kicked the ball", "can I kick the ball?".</summary>
    public static readonly (string Now, string Past)[] Transitive =
    [
        ("kick", "kicked"), ("throw", "threw"), ("catch", "caught"), ("carry", "carried"), ("push", "pushed"),
        ("pull", "pulled"), ("paint", "painted"), ("wash", "washed"), ("find", "found"), ("build", "built"),
        ("draw", "drew"), ("bring", "brought"), ("fix", "fixed"), ("clean", "cleaned"), ("buy", "bought"),
    ];

    /// <summary>Verbs always followed by the subject's possessive ("Lily picked up her ball"): the forced pronoun.</summary>
    public static readonly string[] PossessiveVerbs = ["picked up", "held", "hugged", "showed", "lost"];

    /// <summary>What a character learns in a moral, after "to".</summary>
    public static readonly string[] Lessons =
        ["share", "be good", "help others", "tell the truth", "be careful", "listen to your mom", "say thank you", "be patient", "try again"];
}
