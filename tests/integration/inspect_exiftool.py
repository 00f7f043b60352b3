#!/usr/bin/env python3
"""`viewfinder inspect --json` against `exiftool -j -n` on every file of photos/camera_exif.

Compares DateTimeOriginal, Make, Model, LensModel, FocalLength, FNumber, ExposureTime, ISO,
GPS latitude/longitude/altitude and Orientation, and prints every mismatch precisely.
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
import json
import math
import os
import subprocess
import sys

shared = os.environ.get("VF_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))
vf_bin = os.environ["VF_BIN"]
root = os.path.join(shared, "photos", "camera_exif")
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
assert len(files) >= 100, f"expected the camera set under {root}"

tags = ["-EXIF:DateTimeOriginal", "-EXIF:Make", "-EXIF:Model", "-EXIF:LensModel",
        "-EXIF:FocalLength", "-EXIF:FNumber", "-EXIF:ApertureValue", "-EXIF:ExposureTime",
        "-EXIF:ShutterSpeedValue", "-EXIF:ISO",
        "-Composite:GPSLatitude", "-Composite:GPSLongitude", "-EXIF:GPSAltitude",
        "-EXIF:GPSAltitudeRef",
        "-EXIF:Orientation"]
ref = {e["SourceFile"]: e for e in json.loads(subprocess.run(
    ["exiftool", "-j", "-n", "-q", "-q"] + tags + files, capture_output=True, text=True).stdout)}

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


checked = 0
for path in files:
    r, o = ref.get(path, {}), ours.get(path)
    if o is None or not o["ok"]:
        continue
    name = os.path.relpath(path, root)

    def diff(field, exp, got):
        mismatches.append(f"{name}: {field}: exiftool {exp!r}, viewfinder {got!r}")

    # DateTimeOriginal
    dto = text(r.get("DateTimeOriginal"))
    if dto and not dto.startswith("0000") and len(dto) >= 19:
        exp = dto[:10].replace(":", "-") + "T" + dto[11:19]
        if o["capture_time_source"] != "exif:DateTimeOriginal" or o["capture_time"] != exp:
            diff("DateTimeOriginal", dto, f"{o['capture_time']} ({o['capture_time_source']})")
    elif o["capture_time_source"] == "exif:DateTimeOriginal":
        diff("DateTimeOriginal", dto or None, o["capture_time"])
    for field, key in [("Make", "make"), ("Model", "model"), ("LensModel", "lens")]:
        if text(r.get(field)) != o[key]:
            diff(field, text(r.get(field)), o[key])
    r["Aperture"] = r.get("FNumber") if r.get("FNumber") not in (None, 0) else r.get("ApertureValue")
    r["ShutterSpeed"] = r.get("ExposureTime") if r.get("ExposureTime") not in (None, 0) else r.get("ShutterSpeedValue")
    lat, lon = r.get("GPSLatitude"), r.get("GPSLongitude")
    if not (isinstance(lat, (int, float)) and isinstance(lon, (int, float)) and abs(lat) <= 90 and abs(lon) <= 180):
        r["GPSLatitude"] = r["GPSLongitude"] = None
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
for m in mismatches:
    print("  " + m)
sys.exit(1 if mismatches else 0)
