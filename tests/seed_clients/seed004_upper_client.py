import socket
#买手机
phone=socket.socket(socket.AF_INET,socket.SOCK_STREAM)  # 一样打开这个端口
#绑定手机卡   客户端没必要绑定所以不用了
#开机  也不用监听了

phone.connect(('127.0.0.1',8080))    # 主动建立链接,前面IP地址后面是端口
phone.send('hello'.encode('utf-8'))  # 发送数据

data=phone.recv(1024)
print(data.decode('utf-8'))
#关机
phone.close()          #同样要关机
