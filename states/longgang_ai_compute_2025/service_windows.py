"""The 13 service windows that accept the paper file (guide section 五(三), LG-FLOW-5).

Kept as data exactly as the guide lists them: the applicant may choose any one, and the
paper receipt records which.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceWindow:
    number: int
    name: str
    address: str
    phone: str


SERVICE_WINDOWS: tuple[ServiceWindow, ...] = (
    ServiceWindow(1, "深圳市龙岗区政务服务中心", "深圳市龙岗区龙翔大道8033-1龙岗政务服务中心", "84502446"),
    ServiceWindow(
        2,
        "深圳市龙岗区政务服务中心天安云谷分中心",
        "深圳市龙岗区坂田街道雪岗路2018号天安云谷1栋B座1楼",
        "89601111（转政务服务）",
    ),
    ServiceWindow(
        3, "深圳市龙岗区政务服务中心大运软件小镇分中心", "深圳市龙岗区龙岗大道8288号大运软件小镇17栋1楼", "28229136"
    ),
    ServiceWindow(
        4,
        "深圳市龙岗区政务服务中心中海信分中心",
        "深圳市龙岗区吉华街道甘李三路中海信创新产业城19A栋2层",
        "33112166",
    ),
    ServiceWindow(
        5, "深圳市龙岗区政务服务中心天安数码城分中心", "深圳市龙岗区黄阁路天安数码城2栋a座1楼服务中心", "89312333"
    ),
    ServiceWindow(6, "深圳市龙岗区政务服务中心宝龙分中心", "深圳市龙岗区冬青路18号宝龙街道便民服务中心1楼", "23255492"),
    ServiceWindow(
        7,
        "深圳市龙岗区政务服务中心丰隆深港分中心（原启迪协信分中心）",
        "深圳市龙岗区大运新城青春路与飞扬路交叉口丰隆深港科技园产业促进中心1楼政务服务中心",
        "28399039",
    ),
    ServiceWindow(
        8, "深圳市龙岗区政务服务中心星河WORLD分中心", "深圳市龙岗区坂田街道南坑社区雅星路8号IEO-3栋1楼", "23952233"
    ),
    ServiceWindow(
        9, "深圳市龙岗区政务服务中心康利城分中心", "深圳市龙岗区南湾街道平吉大道66号康利城2栋1楼", "28681209"
    ),
    ServiceWindow(
        10, "深圳市龙岗区政务服务中心华南城分中心", "深圳市龙岗区平湖街道富安大道1号华南城招商中心一楼", "28491235"
    ),
    ServiceWindow(
        11,
        "深圳市龙岗区政务服务中心大运AI小镇分中心",
        "深圳市龙岗区横岗街道信义路大运AI小镇B01栋小镇客厅一层",
        "89768806",
    ),
    ServiceWindow(
        12,
        "深圳市龙岗区政务服务中心宝龙专精特新产业园分中心",
        "深圳市龙岗区宝龙街道宝龙三路与新能源五路交汇处宝龙专精特新产业园企业服务中心",
        "28226779",
    ),
    ServiceWindow(
        13,
        "深圳市龙岗区政务服务中心国际低碳城分中心",
        "深圳市龙岗区坪地街道教育北路68号高桥社区党群服务中心一楼",
        "28919635",
    ),
)


def window_by_number(number: int) -> ServiceWindow | None:
    return next((w for w in SERVICE_WINDOWS if w.number == number), None)
