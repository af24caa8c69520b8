; Inno Setup script for hmi-station on Windows (documented, not built in CI).
; Build on Windows: run installer\build.sh's PyInstaller step in a Windows venv
;   py -3.11 -m venv build\venv && build\venv\Scripts\pip install . "pyinstaller>=6.10,<7"
;   cd installer && ..\build\venv\Scripts\pyinstaller --noconfirm hmi-station.spec --distpath ..\dist
; then compile this script with Inno Setup 6: iscc installer\windows\hmi-station.iss
; Secrets: keyring uses the Windows Credential Manager (keyring.backends.Windows), which works
; for the logged-in user; a Windows service account has its own vault, so set secrets with
; `hmi secrets set` *as that account* (e.g. `runas /user:...`).

#define AppName "HMI Station"
#define AppVersion GetEnv("HMI_VERSION") != "" ? GetEnv("HMI_VERSION") : "0.1.0"

[Setup]
AppId={{7E7C2E55-3B0B-4D55-9E57-1C7A3A0E6D21}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=hmi-station contributors
DefaultDirName={autopf}\hmi-station
DefaultGroupName={#AppName}
OutputBaseFilename=hmi-station-{#AppVersion}-windows-setup
OutputDir=..\..\dist
SetupIconFile=..\..\resources\icons\hmi-station.ico
Compression=lzma2
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
ChangesEnvironment=yes

[Files]
Source: "..\..\dist\hmi-station\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion
Source: "..\..\docs\*"; DestDir: "{app}\docs"; Flags: recursesubdirs ignoreversion skipifsourcedoesntexist

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\hmi.exe"; Parameters: "gui ""{userappdata}\hmi-station\project.toml"""
Name: "{group}\{#AppName} demo"; Filename: "{app}\hmi.exe"; Parameters: "demo"
Name: "{group}\User guide"; Filename: "{app}\docs\user-guide.md"

[Registry]
; put hmi.exe on the user's PATH so `hmi check`, `hmi alarms ...` work in a terminal
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; \
    ValueData: "{olddata};{app}"; Check: NeedsAddPath(ExpandConstant('{app}'))

[Code]
function NeedsAddPath(Dir: string): boolean;
var Paths: string;
begin
  if not RegQueryStringValue(HKCU, 'Environment', 'Path', Paths) then
    Result := True
  else
    Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') = 0;
end;
