/* Positions on the sphere: validity, great-circle distance, unit vectors and chords. */
#include "places.h"

#include <math.h>

#define DEG (M_PI / 180.0)

int psk_gps_valid(double lat, double lon) {
    if (!isfinite(lat) || !isfinite(lon)) return 0;
    if (lat < -90.0 || lat > 90.0 || lon < -180.0 || lon > 180.0) return 0;
    if (lat == 0.0 && lon == 0.0) return 0; /* "null island": what cameras write when they had no fix */
    return 1;
}

double psk_great_circle_km(double lat1, double lon1, double lat2, double lon2) {
    double dlat = (lat2 - lat1) * DEG, dlon = (lon2 - lon1) * DEG;
    double s1 = sin(dlat / 2), s2 = sin(dlon / 2);
    double a = s1 * s1 + cos(lat1 * DEG) * cos(lat2 * DEG) * s2 * s2;
    if (a > 1.0) a = 1.0;
    return 2.0 * PLACE_EARTH_KM * asin(sqrt(a));
}

void places_xyz(double lat, double lon, double out[3]) {
    double cl = cos(lat * DEG);
    out[0] = cl * cos(lon * DEG);
    out[1] = cl * sin(lon * DEG);
    out[2] = sin(lat * DEG);
}

double places_chord2_of_km(double km) {
    double c = 2.0 * sin(km / PLACE_EARTH_KM / 2.0);
    return c * c;
}
