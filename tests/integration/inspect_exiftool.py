#!/usr/bin/env python3
"""`viewfinder inspect --json` against `exiftool -j -n` on every file of photos/camera_exif.

Compares the capture time, the file time, Make, Model, the lens, FocalLength, FNumber,
ExposureTime, ISO, GPS latitude/longitude/altitude and Orientation, and prints every mismatch
precisely. Then checks, on copies of a real photo edited with exiftool, that a 0,0 GPS
position without other GPS fields ("null island") is no location and that an impossible
DateTimeOriginal (February 30) is rejected, not normalised.
  * capture time: the first real date of EXIF DateTimeOriginal, XMP exif:DateTimeOriginal,
    XMP photoshop:DateCreated, EXIF CreateDate (DateTimeDigitized), XMP xmp:CreateDate; no
    such date means no capture time (never EXIF ModifyDate, never the file time).
  * lens: when exiftool shows LensModel, LensID or Lens, ours must equal one of them (case and
    blanks aside, and a leading maker name exiv2 adds: "Nikon AF-S ..."); KNOWN_LENS_MISSES
    lists the files whose maker notes exiv2 cannot read.
Differences that are only formatting are normalised here (each one says why):
  * exiftool prints EXIF dates as "YYYY:MM:DD HH:MM:SS", we print ISO-8601 with 'T'.
  * exiftool strips trailing blanks/NULs from strings; so do we, then both are compared.
  * numbers are compared with a relative tolerance of 1e-6 (exiftool prints ~10 digits).
  * an all-zero/blank DateTimeOriginal ("0000:00:00 00:00:00") is no date; we then fall back.
  * aperture is EXIF FNumber, else the APEX ApertureValue (exiftool -n converts it to an
    f-number); exposure is EXIF ExposureTime, else ShutterSpeedValue (in seconds). We do the
    same fallback. (exiftool's Composite tags prefer maker notes, which we do not read.)
  * zero FocalLength/FNumber/ExposureTime/ISO mean "unknown": we report none.
  * GPS positions outside +-90/+-180 (then the pair is dropped) and altitudes above 100 km are not real places: exiftool
    prints them, we report none. The altitude is signed by GPSAltitudeRef (1 = below sea level).
"""
import datetime
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

shared = os.environ.get("VF_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))
vf_bin = os.environ["VF_BIN"]
root = os.path.join(shared, "photos", "camera_exif")
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
assert len(files) >= 100, f"expected the camera set under {root}"

tags = ["-EXIF:DateTimeOriginal",
        "-EXIF:Make", "-EXIF:Model",
        "-EXIF:FocalLength", "-EXIF:FNumber", "-EXIF:ApertureValue", "-EXIF:ExposureTime",
        "-EXIF:ShutterSpeedValue", "-EXIF:ISO",
        "-Composite:GPSLatitude", "-Composite:GPSLongitude", "-EXIF:GPSAltitude",
        "-EXIF:GPSAltitudeRef",
        "-EXIF:Orientation", "-File:FileModifyDate"]
ref = {e["SourceFile"]: e for e in json.loads(subprocess.run(
    ["exiftool", "-j", "-n", "-q", "-q"] + tags + files, capture_output=True, text=True).stdout)}
# Dates and GPS fields by group ("IFD0:DateTimeOriginal", "XMP-xmp:CreateDate", "GPS:...").
date_tags = ["-EXIF:DateTimeOriginal", "-XMP-exif:DateTimeOriginal", "-XMP-photoshop:DateCreated",
             "-EXIF:CreateDate", "-XMP-xmp:CreateDate", "-GPS:all"]
for e in json.loads(subprocess.run(["exiftool", "-j", "-n", "-q", "-q", "-G1"] + date_tags + files,
                                   capture_output=True, text=True).stdout):
    ref.setdefault(e.pop("SourceFile"), {}).update(e)
GPS_POSITION_ONLY = {"GPS:GPSVersionID", "GPS:GPSLatitudeRef", "GPS:GPSLatitude", "GPS:GPSLongitudeRef",
                     "GPS:GPSLongitude", "GPS:GPSAltitudeRef", "GPS:GPSAltitude"}
# Lens names as exiftool prints them (LensID is a name only in print form).
lens_ref = {e["SourceFile"]: e for e in json.loads(subprocess.run(
    ["exiftool", "-j", "-q", "-q", "-LensModel", "-LensID", "-Lens"] + files,
    capture_output=True, text=True).stdout)}
KNOWN_LENS_MISSES = {
    # exiv2 reads this Canon compact's camera settings at the wrong positions (its lens id
    # names an EF 28mm, which the 5.8 mm focal length rules out); exiftool's "5.8 - 17.4 mm"
    # comes from its own parse.
    "exif-samples/tests/11-tests.jpg",
    # exiv2 cannot read this Olympus E-420 maker note at all (no Exif.Olympus* keys).
    "metadata-extractor/Issue 339.jpg",
}

proc = subprocess.run([vf_bin, "inspect", "--json"] + files, capture_output=True, text=True)
ours = {e["path"]: e for e in json.loads(proc.stdout)}

mismatches = []
failed = [p for p, e in ours.items() if not e["ok"]]
for p in failed:
    mismatches.append(f"{p}: not readable: {ours[p]['error']}")


def num_eq(a, b):
    return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)


def text(v):
    return str(v).strip().rstrip("\x00").strip() if v is not None else ""


def squash(s):
    return " ".join(s.lower().split())


def lens_eq(ours, names, make):
    if not ours:
        return False
    maker = squash(make).split(" ")[0] if make else ""
    ours = squash(ours)
    for n in map(squash, names):
        if ours == n or (maker and ours == f"{maker} {n}"):
            return True
    return False


checked = dated = undated = with_lens = lens_found = 0
known_misses, null_islands = [], []
for path in files:
    r, o = ref.get(path, {}), ours.get(path)
    if o is None or not o["ok"]:
        continue
    name = os.path.relpath(path, root)

    def diff(field, exp, got):
        mismatches.append(f"{name}: {field}: exiftool {exp!r}, viewfinder {got!r}")

    # Capture time: the first real date in exiftool's order; none means none.
    expected_time, expected_from = "", ""
    for key in ("ExifIFD:DateTimeOriginal", "IFD0:DateTimeOriginal", "XMP-exif:DateTimeOriginal",
                "XMP-photoshop:DateCreated", "ExifIFD:CreateDate", "XMP-xmp:CreateDate"):
        v = text(r.get(key))
        if len(v) >= 10 and v[:4].isdigit() and not v.startswith("0000"):
            expected_time = v[:10].replace(":", "-") + "T" + (v[11:19] if len(v) >= 19 else "00:00:00")
            expected_from = key
            break
    if o["capture_time"] != expected_time:
        diff("capture time", f"{expected_time} ({expected_from})", f"{o['capture_time']} ({o['capture_time_source']})")
    if expected_time:
        dated += 1
    else:
        undated += 1
    # The file time is the file's, in UTC, and is always there.
    mod = r.get("FileModifyDate")
    if not isinstance(mod, str) or not o["file_time"] or o["file_time_unix"] != int(
            datetime.datetime.strptime(mod, "%Y:%m:%d %H:%M:%S%z").timestamp()):
        diff("file time", mod, o["file_time"])
    # Lens.
    names = [text(lens_ref.get(path, {}).get(k)) for k in ("LensModel", "LensID", "Lens")]
    names = [n for n in names if n]
    if names:
        with_lens += 1
        if lens_eq(o["lens"], names, o["make"]):
            lens_found += 1
        elif not o["lens"] and name in KNOWN_LENS_MISSES:
            known_misses.append(name)
        else:
            diff("lens", names, o["lens"])
    elif o["lens"]:
        diff("lens", None, o["lens"])
    for field, key in [("Make", "make"), ("Model", "model")]:
        if text(r.get(field)) != o[key]:
            diff(field, text(r.get(field)), o[key])
    r["Aperture"] = r.get("FNumber") if r.get("FNumber") not in (None, 0) else r.get("ApertureValue")
    r["ShutterSpeed"] = r.get("ExposureTime") if r.get("ExposureTime") not in (None, 0) else r.get("ShutterSpeedValue")
    lat, lon = r.get("GPSLatitude"), r.get("GPSLongitude")
    if not (isinstance(lat, (int, float)) and isinstance(lon, (int, float)) and abs(lat) <= 90 and abs(lon) <= 180):
        r["GPSLatitude"] = r["GPSLongitude"] = None
    # Null island: 0,0 (and at most a zero altitude) with no other GPS field is no location.
    gps_fields = {k for k in r if k.startswith("GPS:")}
    if lat == 0 and lon == 0 and gps_fields <= GPS_POSITION_ONLY and not r.get("GPSAltitude"):
        r["GPSLatitude"] = r["GPSLongitude"] = r["GPSAltitude"] = None
        null_islands.append(name)
    if isinstance(r.get("GPSAltitude"), (int, float)) and r.get("GPSAltitudeRef") == 1:
        r["GPSAltitude"] = -r["GPSAltitude"]
    for field, key in [("FocalLength", "focal_length_mm"), ("Aperture", "aperture_f"),
                       ("ShutterSpeed", "exposure_s"), ("ISO", "iso"),
                       ("GPSLatitude", "gps_lat"), ("GPSLongitude", "gps_lon"),
                       ("GPSAltitude", "gps_alt")]:
        exp, got = r.get(field), o[key]
        if isinstance(exp, str):  # exiftool quotes some numbers (long decimals) in JSON
            try:
                exp = float(exp)
            except ValueError:
                exp = None  # not a number at all
        if field in ("Aperture", "FocalLength", "ShutterSpeed", "ISO") and exp is not None and exp <= 0:
            exp = None  # zero means "unknown"
        if field == "GPSLatitude" and exp is not None and abs(exp) > 90:
            exp = None
        if field == "GPSLongitude" and exp is not None and abs(exp) > 180:
            exp = None
        if field == "GPSAltitude" and exp is not None and exp > 100000:
            exp = None
        if exp is None and got is None:
            continue
        if not num_eq(exp, got):
            diff(field, exp, got)
    exp_orient = r.get("Orientation") if isinstance(r.get("Orientation"), int) else 1
    if not 1 <= exp_orient <= 8:
        exp_orient = 1
    if exp_orient != o["orientation"]:
        diff("Orientation", r.get("Orientation"), o["orientation"])
    checked += 1

print(f"checked {checked} files against exiftool, {len(mismatches)} mismatches")
print(f"  capture time: {dated} dated as exiftool dates them, {undated} without a capture date "
      f"(file time only)")
print(f"  lens: found for {lens_found} of {with_lens} files exiftool shows a lens for; "
      f"known misses: {', '.join(known_misses) or 'none'}")

print(f"  null island in the set (0,0 and nothing else, so no location): {', '.join(null_islands) or 'none'}")

# Edited copies of a real photo: null island and an impossible date.
src = os.path.join(root, "metadata-extractor", "Canon EOS 450D.jpg")
tmp = tempfile.mkdtemp(prefix="vf_exif_")
try:
    def edited(name, *args):
        dst = os.path.join(tmp, name)
        shutil.copyfile(src, dst)
        subprocess.run(["exiftool", "-q", "-q", "-overwrite_original", "-n", *args, dst], check=True)
        return dst

    null_island = edited("null_island.jpg", "-GPS:all=", "-GPSLatitude=0", "-GPSLatitudeRef=N",
                         "-GPSLongitude=0", "-GPSLongitudeRef=E")
    with_fix = edited("zero_with_fix.jpg", "-GPS:all=", "-GPSLatitude=0", "-GPSLatitudeRef=N",
                      "-GPSLongitude=0", "-GPSLongitudeRef=E", "-GPSDateStamp=2008:05:03",
                      "-GPSTimeStamp=10:00:00", "-GPSSatellites=7")
    real = edited("real_place.jpg", "-GPS:all=", "-GPSLatitude=0.5", "-GPSLatitudeRef=N",
                  "-GPSLongitude=0.25", "-GPSLongitudeRef=W")
    feb30 = edited("feb30.jpg", "-EXIF:DateTimeOriginal=2024:02:30 10:00:00",
                   "-EXIF:CreateDate=2008:05:03 12:00:00")
    rows = {os.path.basename(e["path"]): e for e in json.loads(subprocess.run(
        [vf_bin, "inspect", "--json", null_island, with_fix, real, feb30],
        capture_output=True, text=True).stdout)}
    r = rows["null_island.jpg"]
    if r["gps_lat"] is not None or r["gps_lon"] is not None:
        mismatches.append(f"null island: 0,0 without other GPS fields gave {r['gps_lat']},{r['gps_lon']}")
    r = rows["zero_with_fix.jpg"]
    if r["gps_lat"] != 0 or r["gps_lon"] != 0:
        mismatches.append(f"0,0 with a GPS time and satellites is a place: got {r['gps_lat']},{r['gps_lon']}")
    r = rows["real_place.jpg"]
    if not (num_eq(r["gps_lat"], 0.5) and num_eq(r["gps_lon"], -0.25)):
        mismatches.append(f"0.5N 0.25W read as {r['gps_lat']},{r['gps_lon']}")
    r = rows["feb30.jpg"]
    if (r["capture_time"], r["capture_time_source"]) != ("2008-05-03T12:00:00", "exif:DateTimeDigitized"):
        mismatches.append(f"DateTimeOriginal 2024:02:30 should be rejected (next: CreateDate), got "
                          f"{r['capture_time']} ({r['capture_time_source']})")
    print("  null island, 0,0 with a fix, a real place near 0,0, February 30: checked")
finally:
    shutil.rmtree(tmp)

for m in mismatches:
    print("  " + m)
sys.exit(1 if mismatches else 0)
