// Compiled by MSBuild's RoslynCodeTaskFactory (see SaeSharp.Native.targets): no project, no package.
//
// TorchSharp 0.107.0's libLibTorchSharp.so was linked against GCC 13's libstdc++ and so records a need
// for version GLIBCXX_3.4.32, for the single symbol std::ios_base_library_init, which it never calls.
// GCC 12 systems (Debian 12, Ubuntu 22.04) lack that version and the dynamic loader refuses the file.
// Marking that version need weak (VER_FLG_WEAK in its .gnu.version_r entry) and giving the symbol the
// base version (versym 1) makes the loader accept it; nothing else changes. The sections are found by
// parsing the ELF file, never by fixed offsets, and the file is left alone when the system's libstdc++
// already provides the version, when it is patched already, or when anything else needs that version.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class PatchLibTorchSharpGlibcxx : Task
{
    private const string VersionName = "GLIBCXX_3.4.32";
    private const string SymbolName = "_ZSt21ios_base_library_initv";
    private const uint ShtDynsym = 11;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;
    private const ushort VerFlgWeak = 0x2;

    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        if (SystemHasVersion())
        {
            Log.LogMessage(MessageImportance.Low, "System libstdc++ provides {0}; LibTorchSharp left unpatched.", VersionName);
            return true;
        }
        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            try
            {
                var bytes = File.ReadAllBytes(path);
                var outcome = Patch(bytes);
                if (outcome == "patched")
                {
                    var temp = path + ".saesharp-patch.tmp";
                    File.WriteAllBytes(temp, bytes);
                    File.Copy(temp, path, overwrite: true);
                    File.Delete(temp);
                    Log.LogMessage(MessageImportance.High, "Patched {0}: {1} need made weak for {2}.", path, VersionName, SymbolName);
                }
                else
                {
                    Log.LogMessage(MessageImportance.Low, "{0}: {1}", path, outcome);
                }
            }
            catch (Exception e)
            {
                Log.LogError("Could not patch {0} for GLIBCXX compatibility: {1}", path, e.Message);
                return false;
            }
        }
        return !Log.HasLoggedErrors;
    }

    private static bool SystemHasVersion()
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        };
        var needle = Encoding.ASCII.GetBytes(VersionName + "\0");
        foreach (var candidate in candidates)
        {
            if (!File.Exists(candidate)) continue;
            return IndexOf(File.ReadAllBytes(candidate), needle) >= 0;
        }
        return false; // no libstdc++ found where we looked: patching is the safe choice
    }

    /// <summary>Patches the image in memory; returns "patched" or why nothing was changed.</summary>
    internal static string Patch(byte[] elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            return "not an ELF file";
        if (elf[4] != 2 || elf[5] != 1)
            return "not a 64-bit little-endian ELF file";
        ulong shoff = U64(elf, 0x28);
        int shentsize = U16(elf, 0x3A), shnum = U16(elf, 0x3C);
        Check(elf, shoff, (ulong)shentsize * (ulong)shnum);

        int verneed = -1, dynsym = -1, versym = -1;
        for (int i = 0; i < shnum; i++)
        {
            uint type = U32(elf, (int)shoff + i * shentsize + 4);
            if (type == ShtGnuVerneed) verneed = i;
            else if (type == ShtDynsym) dynsym = i;
            else if (type == ShtGnuVersym) versym = i;
        }
        if (verneed < 0 || dynsym < 0 || versym < 0)
            return "no symbol versioning sections";

        var need = Section(elf, shoff, shentsize, verneed);
        var needStrings = Section(elf, shoff, shentsize, (int)need.Link);
        int versionIndex = -1, auxFlagsAt = -1;
        ulong entry = need.Offset;
        for (uint n = 0; n < need.Info; n++)
        {
            Check(elf, entry, 16);
            int count = U16(elf, (int)entry + 2);
            ulong aux = entry + U32(elf, (int)entry + 8);
            for (int a = 0; a < count; a++)
            {
                Check(elf, aux, 16);
                string name = CString(elf, needStrings, U32(elf, (int)aux + 8));
                if (name == VersionName)
                {
                    auxFlagsAt = (int)aux + 4;
                    versionIndex = U16(elf, (int)aux + 6) & 0x7fff;
                }
                aux += U32(elf, (int)aux + 12);
            }
            uint next = U32(elf, (int)entry + 12);
            if (next == 0) break;
            entry += next;
        }
        if (versionIndex < 0)
            return "does not need " + VersionName;

        var symbols = Section(elf, shoff, shentsize, dynsym);
        var symbolStrings = Section(elf, shoff, shentsize, (int)symbols.Link);
        var versions = Section(elf, shoff, shentsize, versym);
        ulong symbolCount = symbols.Size / 24;
        Check(elf, versions.Offset, symbolCount * 2);
        int symbolVersionAt = -1;
        for (ulong s = 0; s < symbolCount; s++)
        {
            int at = (int)(versions.Offset + s * 2);
            if ((U16(elf, at) & 0x7fff) != versionIndex) continue;
            string name = CString(elf, symbolStrings, U32(elf, (int)(symbols.Offset + s * 24)));
            if (name != SymbolName)
                return "symbol " + name + " also needs " + VersionName + "; not safe to patch";
            symbolVersionAt = at;
        }

        bool changed = false;
        ushort flags = (ushort)U16(elf, auxFlagsAt);
        if ((flags & VerFlgWeak) == 0)
        {
            Write16(elf, auxFlagsAt, (ushort)(flags | VerFlgWeak));
            changed = true;
        }
        if (symbolVersionAt >= 0)
        {
            Write16(elf, symbolVersionAt, 1);
            changed = true;
        }
        return changed ? "patched" : "already patched";
    }

    // Inline tasks compile against netstandard: no records.
    private readonly struct SectionHeader
    {
        public SectionHeader(ulong offset, ulong size, uint link, uint info) { Offset = offset; Size = size; Link = link; Info = info; }
        public ulong Offset { get; }
        public ulong Size { get; }
        public uint Link { get; }
        public uint Info { get; }
    }

    private static SectionHeader Section(byte[] elf, ulong shoff, int shentsize, int index)
    {
        int at = (int)shoff + index * shentsize;
        var header = new SectionHeader(U64(elf, at + 24), U64(elf, at + 32), U32(elf, at + 40), U32(elf, at + 44));
        Check(elf, header.Offset, header.Size);
        return header;
    }

    private static string CString(byte[] elf, SectionHeader table, uint offset)
    {
        if (offset >= table.Size) throw new InvalidDataException("string offset outside its table");
        int start = (int)(table.Offset + offset);
        int end = Array.IndexOf(elf, (byte)0, start);
        if (end < 0) throw new InvalidDataException("unterminated string");
        return Encoding.ASCII.GetString(elf, start, end - start);
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }

    private static void Check(byte[] elf, ulong offset, ulong length)
    {
        if (offset > (ulong)elf.Length || length > (ulong)elf.Length - offset)
            throw new InvalidDataException($"range {offset}+{length} lies outside the {elf.Length}-byte file");
    }

    private static void Write16(byte[] b, int at, ushort value) { b[at] = (byte)value; b[at + 1] = (byte)(value >> 8); }
    private static int U16(byte[] b, int at) => BitConverter.ToUInt16(b, at);
    private static uint U32(byte[] b, int at) => BitConverter.ToUInt32(b, at);
    private static ulong U64(byte[] b, int at) => BitConverter.ToUInt64(b, at);
}
