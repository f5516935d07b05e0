# The subset of nixpkgs' lib that microforge's Nix code and the example modules use.
rec {
  hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;
  removePrefix =
    prefix: s:
    let
      n = builtins.stringLength prefix;
    in
    if hasPrefix prefix s then builtins.substring n (builtins.stringLength s - n) s else s;
  escapeShellArg =
    arg:
    let
      string = toString arg;
    in
    if builtins.match "[[:alnum:],._+:@%/-]+" string == null then
      "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] string}'"
    else
      string;
  # as nixpkgs' lib/strings.nix
  versionAtLeast = v1: v2: builtins.compareVersions v1 v2 >= 0;
  concatMapStrings = f: list: builtins.concatStringsSep "" (map f list);
  cleanSourceWith =
    {
      src,
      filter ? (_: _: true),
      name ? "source",
    }:
    builtins.path {
      path = src;
      inherit filter name;
    };
  platforms.linux = [
    "x86_64-linux"
    "aarch64-linux"
  ];
  # the module-system properties, with nixpkgs' shapes
  mkOverride = priority: content: {
    _type = "override";
    inherit priority content;
  };
  mkDefault = mkOverride 1000;
  mkForce = mkOverride 50;
  mkIf = condition: content: {
    _type = "if";
    inherit condition content;
  };
  mkMerge = contents: {
    _type = "merge";
    inherit contents;
  };
}
